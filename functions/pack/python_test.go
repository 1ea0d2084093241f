package pack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles lays files (name → content) out under a new folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Which language a func_path is: what the config's runtime or kind says, else what the
// path holds.
func TestDetect(t *testing.T) {
	goDir := writeFiles(t, map[string]string{"main.go": "package main\n", "main.py": "# a helper script\n"})
	pyDir := writeFiles(t, map[string]string{"main.py": "def main(request):\n    return 'ok'\n"})
	empty := t.TempDir()
	tests := []struct {
		name, path, runtime string
		want                string
	}{
		{"a Go package, even with a .py beside it", goDir, "", "go"},
		{"a Python folder", pyDir, "", "python"},
		{"a Python runtime decides", empty, "python311", "python"},
		{"a Python kind decides", empty, "python:3.11", "python"},
		{"a Go runtime decides", pyDir, "go122", "go"},
		{"a .py file", filepath.Join(pyDir, "main.py"), "", "python"},
		{"anything else is Go's as before", filepath.Join(empty, "missing"), "nodejs:14", "go"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Detect(tc.path, tc.runtime)); got != tc.want {
				t.Errorf("Detect(%s, %q) = %s, want %s", tc.path, tc.runtime, got, tc.want)
			}
		})
	}
}

// What a platform cannot take is refused when packing, naming what it needs.
func TestPythonPackingRefusals(t *testing.T) {
	noMain := writeFiles(t, map[string]string{"main.py": "def main(args):\n    return {}\n"})
	noHandler := writeFiles(t, map[string]string{"index.py": "\n"})
	tests := []struct {
		name string
		pack func() error
		want string
	}{
		{"an OpenWhisk folder without __main__.py", func() error { _, err := OpenWhiskPython(noMain, "/"); return err }, "needs __main__.py at its root"},
		{"a Cloud Functions folder without main.py", func() error { _, err := GCFPythonSource(noHandler, "/"); return err }, "with main.py at its root"},
		{"an OpenFaaS folder without handler.py", func() error { _, err := OpenFaaSPython(noHandler, "/", t.TempDir()); return err }, "with handler.py"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.pack(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}
