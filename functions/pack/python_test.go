package pack

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/python"
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

// zipNames lists an archive's files, or "text" when the code is not a zip.
func zipNames(t *testing.T, code []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(code), int64(len(code)))
	if err != nil {
		return []string{"text"}
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

// The SDK travels with the Python code that imports it, where each platform's import
// path finds it, and only then; a folder that brings its own keeps it.
func TestSDKVendoring(t *testing.T) {
	const uses = "from fedkeeper import serving\n\nmain = serving.openwhisk(None)\n"
	sdkInit, err := fs.ReadFile(python.SDK(), "__init__.py")
	if err != nil {
		t.Fatal(err)
	}
	owDir := writeFiles(t, map[string]string{"__main__.py": uses, "model.py": "import torch\n"})
	own := writeFiles(t, map[string]string{"__main__.py": uses, "fedkeeper/__init__.py": "# mine\n"})
	plain := writeFiles(t, map[string]string{"__main__.py": "def main(args):\n    return args\n"})
	gcfDir := writeFiles(t, map[string]string{"main.py": "import fedkeeper.serving as s\n"})
	tests := []struct {
		name     string
		code     func() ([]byte, error)
		sdkAt    string // where the SDK's __init__.py must be, "" for nowhere
		ownFiles []string
	}{
		{"an OpenWhisk folder", func() ([]byte, error) { return OpenWhiskPython(owDir, "/") }, "fedkeeper/__init__.py", []string{"__main__.py", "model.py"}},
		{"an OpenWhisk file becomes a zip", func() ([]byte, error) { return OpenWhiskPython(filepath.Join(owDir, "__main__.py"), "/") }, "fedkeeper/__init__.py", []string{"__main__.py"}},
		{"a folder with an SDK of its own", func() ([]byte, error) { return OpenWhiskPython(own, "/") }, "", []string{"__main__.py", "fedkeeper/__init__.py"}},
		{"code that does not use the SDK", func() ([]byte, error) { return OpenWhiskPython(plain, "/") }, "", []string{"__main__.py"}},
		{"a file that does not use the SDK stays text", func() ([]byte, error) { return OpenWhiskPython(filepath.Join(plain, "__main__.py"), "/") }, "", []string{"text"}},
		{"a Cloud Functions source", func() ([]byte, error) { return GCFPythonSource(gcfDir, "/") }, "fedkeeper/__init__.py", []string{"main.py"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, err := tc.code()
			if err != nil {
				t.Fatal(err)
			}
			names := zipNames(t, code)
			for _, want := range append(tc.ownFiles, tc.sdkAt) {
				if want != "" && !slices.Contains(names, want) {
					t.Errorf("files %v lack %s", names, want)
				}
			}
			if tc.sdkAt == "" && slices.Contains(names, "fedkeeper/serving.py") {
				t.Errorf("files %v hold the SDK, which was not asked for", names)
			}
			if tc.sdkAt != "" {
				zr, _ := zip.NewReader(bytes.NewReader(code), int64(len(code)))
				if got, _ := fs.ReadFile(zr, tc.sdkAt); !bytes.Equal(got, sdkInit) {
					t.Errorf("%s is not the SDK's", tc.sdkAt)
				}
			}
		})
	}
}

// OpenFaaS's template imports the handler as function.handler: the SDK goes into
// function/, to be imported relatively, and an absolute import is refused with how to
// write it.
func TestOpenFaaSSDKVendoring(t *testing.T) {
	relative := writeFiles(t, map[string]string{"handler.py": "from .fedkeeper import serving\n", "requirements.txt": "numpy\n"})
	out, err := OpenFaaSPython(relative, "/", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"function/handler.py", "function/requirements.txt", "function/fedkeeper/serving.py"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("the build folder lacks %s: %v", f, err)
		}
	}
	absolute := writeFiles(t, map[string]string{"handler.py": "import os\nfrom fedkeeper import serving\n"})
	if _, err := OpenFaaSPython(absolute, "/", t.TempDir()); err == nil || !strings.Contains(err.Error(), "from .fedkeeper import serving") {
		t.Errorf("an absolute import packed with %v, want the relative import suggested", err)
	}
}

// Two function folders of the same name build side by side, neither over the other.
func TestSameNamedFoldersBuildApart(t *testing.T) {
	build := t.TempDir()
	var outs []string
	for _, parent := range []string{t.TempDir(), t.TempDir()} {
		dir := filepath.Join(parent, "openfaas")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "handler.py"), []byte("def handle(event, context):\n    return None\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := OpenFaaSPython(dir, "/", build)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if outs[0] == outs[1] {
		t.Fatalf("both folders built into %s", outs[0])
	}
	for _, out := range outs {
		if _, err := os.Stat(filepath.Join(out, "function", "handler.py")); err != nil || !strings.HasPrefix(filepath.Base(out), "openfaas-") {
			t.Errorf("build %s: %v", out, err)
		}
	}
}
