package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackagesEveryPlatform(t *testing.T) {
	out := t.TempDir()
	if err := run(context.Background(), "../..", out); err != nil {
		t.Fatal(err)
	}
	entries := func(path string) map[string][]byte {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]byte{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			rc.Close()
			m[f.Name] = b.Bytes()
		}
		return m
	}
	// OpenWhisk's Go runtime runs the "exec" of a native action zip: a Linux binary.
	ow := entries(filepath.Join(out, "openwhisk", "fedkeeper.zip"))
	if exec, ok := ow["exec"]; !ok || !bytes.HasPrefix(exec, []byte("\x7fELF")) {
		t.Errorf("the OpenWhisk zip holds %d entries and no Linux exec", len(ow))
	}
	// Cloud Functions builds the module's root package from the source archive.
	gcf := entries(filepath.Join(out, "gcf", "fedkeeper-source.zip"))
	for _, name := range []string{"go.mod", "go.sum", "functions/gcf/gcf.go", "functions/flclient/flclient.go"} {
		if _, ok := gcf[name]; !ok {
			t.Errorf("the Cloud Functions archive lacks %s", name)
		}
	}
	// The OpenFaaS image context builds the handler behind the watchdog.
	df, err := os.ReadFile(filepath.Join(out, "openfaas", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "go build") || !strings.Contains(string(df), "./functions/openfaas") || !strings.Contains(string(df), "fwatchdog") {
		t.Errorf("Dockerfile:\n%s", df)
	}
	for _, name := range []string{"go.mod", "functions/openfaas/main.go", "functions/flclient/flclient.go"} {
		if _, err := os.Stat(filepath.Join(out, "openfaas", name)); err != nil {
			t.Errorf("the OpenFaaS context lacks %s: %v", name, err)
		}
	}
}
