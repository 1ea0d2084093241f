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
	"regexp"
	"strings"

	"github.com/fedkeeper/fedkeeper/python"
)

// Language is what a func_path is written in.
type Language string

// The languages pack builds for.
const (
	Go     Language = "go"
	Python Language = "python"
)

// pythonEntryFiles mark a folder as a Python function: OpenWhisk's __main__.py, Cloud
// Functions' main.py, OpenFaaS python3-http's handler.py (alone or in function/),
// Lambda's lambda_function.py (the console's name for a handler's module).
var pythonEntryFiles = []string{"__main__.py", "main.py", "handler.py", filepath.Join("function", "handler.py"), "lambda_function.py"}

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
// or a folder zipped with its __main__.py at the root, as OpenWhisk requires. Code that
// imports the SDK gets it beside __main__.py (a single file becomes a zip for that).
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
		if !sdkImport.Match(data) {
			return data, nil
		}
		a := newArchive()
		if err := a.addFile("__main__.py", bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		if err := a.addFS(python.SDK(), python.PackageName+"/"); err != nil {
			return nil, fmt.Errorf("pack: add the SDK: %w", err)
		}
		return a.close()
	}
	if _, err := os.Stat(filepath.Join(path, "__main__.py")); err != nil {
		return nil, fmt.Errorf("pack: func_path %s: an OpenWhisk Python folder needs __main__.py at its root (its main is the action's entry point)", funcPath)
	}
	return zipFolder(path)
}

// GCFPythonSource returns a Cloud Functions Python source archive: the folder at
// funcPath zipped, with main.py (and requirements.txt, if any) at its root, and the SDK
// beside main.py when the source imports it.
func GCFPythonSource(funcPath, baseDir string) ([]byte, error) {
	path := resolve(funcPath, baseDir)
	if _, err := os.Stat(filepath.Join(path, "main.py")); err != nil {
		return nil, fmt.Errorf("pack: func_path %s: a Cloud Functions Python source is a folder with main.py at its root", funcPath)
	}
	return zipFolder(path)
}

// LambdaPython returns a python3.x Lambda function's zip: the folder at funcPath with
// the handler's module (handler is module.function; a dotted module is a package
// path) at its root, and the SDK beside it when the code imports it.
func LambdaPython(funcPath, baseDir, handler string) ([]byte, error) {
	path := resolve(funcPath, baseDir)
	module, _, ok := cutLast(handler, ".")
	if !ok || module == "" {
		return nil, fmt.Errorf("pack: handler %q must be module.function", handler)
	}
	file := filepath.Join(path, filepath.FromSlash(strings.ReplaceAll(module, ".", "/"))+".py")
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("pack: func_path %s: a Lambda Python folder needs the handler's module %s at its root (handler %s)", funcPath, filepath.Base(file), handler)
	}
	return zipFolder(path)
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// OpenFaaSPython lays a python3-http function out as faas-cli build does, the handler
// folder as function/ inside buildDir/<the folder's name>, and returns that folder:
// what the local fabric's gateway takes as a file:// image. A folder already in that
// layout (with function/handler.py) is copied as it is. A handler that imports the SDK
// gets it inside function/, where the template's handler (module function.handler)
// imports it relatively: from .fedkeeper import serving.
func OpenFaaSPython(funcPath, baseDir, buildDir string) (string, error) {
	path, err := filepath.Abs(resolve(funcPath, baseDir))
	if err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(buildDir, BuildName(path)))
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
	handlerDir := filepath.Join(out, "function")
	if err := vendorForTemplate(funcPath, handlerDir); err != nil {
		return "", err
	}
	return out, nil
}

// vendorForTemplate copies the SDK into a python3-http handler folder that imports it.
// The template puts only its own folder on the import path, not the handler's, so an
// absolute import of the SDK would fail there as on a real gateway: refused with how
// to write it.
func vendorForTemplate(funcPath, handlerDir string) error {
	imports, err := sdkImports(handlerDir)
	if err != nil || !imports.any() || imports.bundled {
		return err
	}
	if imports.absolute != "" {
		return fmt.Errorf("pack: func_path %s: %s imports fedkeeper absolutely, which a python3-http handler cannot (the template imports the handler as function.handler, and only the template's folder is on the import path): import the SDK FedKeeper puts beside it relatively, as from .fedkeeper import serving", funcPath, imports.absolute)
	}
	if err := os.CopyFS(filepath.Join(handlerDir, python.PackageName), python.SDK()); err != nil {
		return fmt.Errorf("pack: add the SDK to %s: %w", funcPath, err)
	}
	return nil
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

// sdkImport matches a line that imports the SDK: import fedkeeper, from fedkeeper(.x)
// import …, or relatively from .fedkeeper import … (group 1 is the dot).
var sdkImport = regexp.MustCompile(`(?m)^[ \t]*(?:import[ \t]+fedkeeper\b|from[ \t]+(\.?)fedkeeper\b)`)

// imports is what a function folder's Python files say of the SDK.
type imports struct {
	relative bool   // some file imports it relatively
	absolute string // a file that imports it absolutely, if any
	bundled  bool   // the folder holds a fedkeeper package of its own
}

func (i imports) any() bool { return i.relative || i.absolute != "" }

// sdkImports reads every Python file under dir (but a fedkeeper package of its own).
func sdkImports(dir string) (imports, error) {
	var found imports
	if info, err := os.Stat(filepath.Join(dir, python.PackageName)); err == nil && info.IsDir() {
		found.bundled = true
	}
	err := fs.WalkDir(pythonFiles{os.DirFS(dir)}, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && name == python.PackageName:
			return fs.SkipDir
		case d.IsDir() || !strings.HasSuffix(name, ".py"):
			return nil
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		for _, m := range sdkImport.FindAllSubmatch(data, -1) {
			if len(m[1]) > 0 {
				found.relative = true
			} else if found.absolute == "" {
				found.absolute = name
			}
		}
		return nil
	})
	if err != nil {
		return imports{}, fmt.Errorf("pack: read %s: %w", dir, err)
	}
	return found, nil
}

// zipFolder zips a folder's files, in lexical order, without what skipped names, and
// the SDK as fedkeeper/ when the folder's code imports it and does not bring its own.
func zipFolder(dir string) ([]byte, error) {
	imports, err := sdkImports(dir)
	if err != nil {
		return nil, err
	}
	a := newArchive()
	if err := a.addFS(pythonFiles{os.DirFS(dir)}, ""); err != nil {
		return nil, fmt.Errorf("pack: zip %s: %w", dir, err)
	}
	if imports.any() && !imports.bundled {
		if err := a.addFS(python.SDK(), python.PackageName+"/"); err != nil {
			return nil, fmt.Errorf("pack: add the SDK to %s: %w", dir, err)
		}
	}
	return a.close()
}

// archive is a zip being written.
type archive struct {
	buf bytes.Buffer
	zw  *zip.Writer
}

func newArchive() *archive {
	a := &archive{}
	a.zw = zip.NewWriter(&a.buf)
	return a
}

// addFS adds fsys's regular files, in lexical order, under prefix.
func (a *archive) addFS(fsys fs.FS, prefix string) error {
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", name)
		}
		f, err := fsys.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		return a.addFile(prefix+name, f)
	})
}

func (a *archive) addFile(name string, r io.Reader) error {
	w, err := a.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		return errors.Join(fmt.Errorf("zip %s", name), err)
	}
	return nil
}

func (a *archive) close() ([]byte, error) {
	if err := a.zw.Close(); err != nil {
		return nil, fmt.Errorf("pack: zip: %w", err)
	}
	return a.buf.Bytes(), nil
}
