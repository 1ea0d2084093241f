package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/functions/pack"
	"github.com/fedkeeper/fedkeeper/jstest"
	"github.com/fedkeeper/fedkeeper/loopback"
)

// createAndInvoke is what a new user of `go run ./cmd/fabric` does with the OpenWhisk
// JavaScript client: create a Go actionloop action from a zip holding exec, and invoke
// it blocking.
const createAndInvoke = `
const openwhisk = require('openwhisk');
const fs = require('fs');
const ow = openwhisk({apihost: process.env.OW_APIHOST, api_key: process.env.OW_AUTH, namespace: 'guest'});
(async () => {
  await ow.actions.create({name: 'nodeinfo', kind: 'go:1.22', action: fs.readFileSync(process.env.ZIP)});
  const result = await ow.actions.invoke({name: 'nodeinfo', blocking: true, result: true, params: {from: 'the js client'}});
  console.log(JSON.stringify(result));
})().catch(e => { console.error(e.message || e); process.exit(1); });
`

// The standalone fabric with its default flags (a relative data folder) creates and
// runs an action that an outside client sent.
func TestStandaloneFabricRunsAnOutsideClientsAction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newStandalone(ctx, t)
	zipFile := s.function(ctx, t, pack.OpenWhiskZip, "openwhisk")
	// Started in a folder of its own, so -data's default .fedkeeper/fabric-standalone
	// is relative to it.
	fabric := exec.CommandContext(ctx, s.bin, "-addr", s.addr)
	fabric.Dir = filepath.Join(s.work, "cwd")
	if err := os.MkdirAll(fabric.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	url := startAndWait(t, fabric)
	out := jstest.Run(ctx, t, createAndInvoke, "OW_APIHOST="+url, "OW_AUTH="+openwhisk.GuestAuth, "ZIP="+zipFile)
	var info struct {
		Hostname string            `json:"hostname"`
		Echo     map[string]string `json:"echo"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Hostname == "" || info.Echo["from"] != "the js client" {
		t.Fatalf("the action answered %q (%v)", out, err)
	}
}

// standalone is the fabric binary built for a test, a free address for it and the
// test's folder.
type standalone struct {
	bin, addr, work string
	root            string // the repository
}

func newStandalone(ctx context.Context, t *testing.T) standalone {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	s := standalone{root: filepath.Join(filepath.Dir(file), "..", ".."), work: t.TempDir()}
	s.bin = filepath.Join(s.work, "fabric")
	build := exec.CommandContext(ctx, "go", "build", "-o", s.bin, ".")
	build.Dir = filepath.Dir(file)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the fabric: %v\n%s", err, out)
	}
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s.addr = net.JoinHostPort(loopback.Host, strconv.Itoa(port))
	return s
}

// function packs FedKeeper's functions/<folder> with packer into a zip file and
// returns its path.
func (s standalone) function(ctx context.Context, t *testing.T, packer func(context.Context, string, string, string) ([]byte, error), folder string) string {
	t.Helper()
	zip, err := packer(ctx, filepath.Join(s.root, "functions", folder), s.root, filepath.Join(s.work, "build"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.work, folder+".zip")
	if err := os.WriteFile(path, zip, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startAndWait starts the fabric and returns its URL from its first line.
func startAndWait(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go io.Copy(io.Discard, stdout)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "local FaaS fabric on ")
	if err != nil || !ok {
		t.Fatalf("the fabric said %q (%v)", line, err)
	}
	return url
}
