package pack

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Language is what a func_path is written in.
type Language string

// The languages pack builds for.
const (
	Go     Language = "go"
	Python Language = "python"
)

// pythonEntryFiles mark a folder as a Python function: OpenWhisk's __main__.py, Cloud
// Functions' main.py, OpenFaaS python3-http's handler.py (alone or in function/).
var pythonEntryFiles = []string{"__main__.py", "main.py", "handler.py", filepath.Join("function", "handler.py")}

// Detect tells a Python func_path from a Go one: a runtime or kind that names the
// language (python311, python:3.11, go122, go:1.22) decides; otherwise a .py file, or a
// folder without Go files that holds a Python entry file, is Python; anything else is
// Go (or, for OpenWhisk, a ready executable or zip), as before Python was known.
func Detect(path, runtime string) Language {
	switch runtime = strings.ToLower(runtime); {
	case strings.HasPrefix(runtime, "python"):
		return Python
	case strings.HasPrefix(runtime, "go"):
		return Go
	}
	info, err := os.Stat(path)
	if err != nil {
		return Go
	}
	if !info.IsDir() {
		if strings.HasSuffix(path, ".py") {
			return Python
		}
		return Go
	}
	if hasGoFiles(path) {
		return Go
	}
	for _, f := range pythonEntryFiles {
		if _, err := os.Stat(filepath.Join(path, f)); err == nil {
			return Python
		}
	}
	return Go
}

// OpenWhiskPython returns a Python action's code for funcPath (resolved against
// baseDir): a single .py file as it is (the action's text code, saved as __main__.py),
// or a folder zipped with its __main__.py at the root, as OpenWhisk requires.
func OpenWhiskPython(funcPath, baseDir string) ([]byte, error) {
	path := resolve(funcPath, baseDir)
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pack: func_path %s: %w", funcPath, err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		return data, nil
	}
	if _, err := os.Stat(filepath.Join(path, "__main__.py")); err != nil {
		return nil, fmt.Errorf("pack: func_path %s: an OpenWhisk Python folder needs __main__.py at its root (its main is the action's entry point)", funcPath)
	}
	return zipTree(path)
}

// GCFPythonSource returns a Cloud Functions Python source archive: the folder at
// funcPath zipped, with main.py (and requirements.txt, if any) at its root.
func GCFPythonSource(funcPath, baseDir string) ([]byte, error) {
	path := resolve(funcPath, baseDir)
	if _, err := os.Stat(filepath.Join(path, "main.py")); err != nil {
		return nil, fmt.Errorf("pack: func_path %s: a Cloud Functions Python source is a folder with main.py at its root", funcPath)
	}
	return zipTree(path)
}

// OpenFaaSPython lays a python3-http function out as faas-cli build does, the handler
// folder as function/ inside buildDir/<the folder's name>, and returns that folder:
// what the local fabric's gateway takes as a file:// image. A folder already in that
// layout (with function/handler.py) is copied as it is.
func OpenFaaSPython(funcPath, baseDir, buildDir string) (string, error) {
	path, err := filepath.Abs(resolve(funcPath, baseDir))
	if err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(buildDir, filepath.Base(path)))
	if err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	target := out
	if _, err := os.Stat(filepath.Join(path, "function", "handler.py")); err != nil {
		if _, err := os.Stat(filepath.Join(path, "handler.py")); err != nil {
			return "", fmt.Errorf("pack: func_path %s: a python3-http function is a folder with handler.py (or function/handler.py)", funcPath)
		}
		target = filepath.Join(out, "function")
	}
	if err := os.RemoveAll(out); err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	if err := os.CopyFS(target, pythonFiles{os.DirFS(path)}); err != nil {
		return "", fmt.Errorf("pack: copy %s: %w", funcPath, err)
	}
	return out, nil
}

func resolve(path, baseDir string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(baseDir, path)
}

// skipped are what a Python folder holds that is not the function: caches and
// version control.
func skipped(name string) bool {
	return name == "__pycache__" || name == ".git" || strings.HasSuffix(name, ".pyc")
}

// pythonFiles is a folder without what skipped names.
type pythonFiles struct{ fs.FS }

func (p pythonFiles) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(p.FS, name)
	kept := entries[:0]
	for _, e := range entries {
		if !skipped(e.Name()) {
			kept = append(kept, e)
		}
	}
	return kept, err
}

// zipTree zips a folder's files, in lexical order, without what skipped names.
func zipTree(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := fs.WalkDir(pythonFiles{os.DirFS(dir)}, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", name)
		}
		return addFile(zw, dir, name)
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("pack: zip %s: %w", dir, err)
	}
	return buf.Bytes(), nil
}

func addFile(zw *zip.Writer, dir, name string) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		return errors.Join(fmt.Errorf("zip %s", name), err)
	}
	return nil
}
