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
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	work := t.TempDir()
	bin := filepath.Join(work, "fabric")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = filepath.Dir(file)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the fabric: %v\n%s", err, out)
	}
	zip, err := pack.OpenWhiskZip(ctx, filepath.Join(root, "functions", "openwhisk"), root, filepath.Join(work, "build"))
	if err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(work, "action.zip")
	if err := os.WriteFile(zipFile, zip, 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// Started in a folder of its own, so -data's default .fedkeeper/fabric-standalone
	// is relative to it.
	fabric := exec.CommandContext(ctx, bin, "-addr", net.JoinHostPort(loopback.Host, strconv.Itoa(port)))
	fabric.Dir = filepath.Join(work, "cwd")
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
