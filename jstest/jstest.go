// Package jstest runs JavaScript clients that nobody in this project wrote (the
// OpenWhisk JavaScript client, and later others) against FedKeeper's servers in tests.
// The clients are npm packages pinned in tools/js; the first test that needs them
// installs them with npm ci, one process at a time, and a machine without Node.js
// fails the test with a line saying what to install.
package jstest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Dir is the folder of the pinned clients (tools/js).
func Dir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "tools", "js")
}

// Install makes sure the pinned clients are installed and returns their folder.
func Install(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("jstest: Node.js is not installed: install it (Debian: apt-get install nodejs npm)")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("jstest: npm is not installed: install it (Debian: apt-get install npm)")
	}
	dir := Dir(t)
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("jstest: %v", err)
	}
	defer lock.Close()
	// Test packages run in parallel processes; one installs while the others wait.
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("jstest: lock %s: %v", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if current(dir) {
		return dir
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("jstest: npm ci in %s (needs the npm registry): %v\n%s", dir, err, out)
	}
	return dir
}

// current says whether node_modules was installed from the present lock file.
func current(dir string) bool {
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	return err == nil && !installed.ModTime().Before(lock.ModTime())
}

// Run runs a Node.js script with the pinned clients on its module path and returns
// what it printed; a failing script fails the test with its output. Values reach the
// script through env ("NAME=value", read as process.env.NAME), never pasted into it.
func Run(ctx context.Context, t testing.TB, script string, env ...string) string {
	t.Helper()
	dir := Install(t)
	cmd := exec.CommandContext(ctx, "node", "-e", script)
	cmd.Env = append(os.Environ(), append(env, "NODE_PATH="+filepath.Join(dir, "node_modules"))...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("jstest: node: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
