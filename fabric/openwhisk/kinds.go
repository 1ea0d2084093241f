package openwhisk

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fedkeeper/fedkeeper/fabric/archive"
	"github.com/fedkeeper/fedkeeper/fabric/container"
	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// The languages the fabric runs actions in, as the "exec" annotation names them.
const (
	langGo     = "go"
	langPython = "python"
)

// pythonKinds are the Python kinds of OpenWhisk's runtime images (action-python-v3.9 …
// v3.12) and manifest; the fabric runs them all under its one configured interpreter.
var pythonKinds = map[string]bool{"python:3": true, "python:default": true, "python:3.9": true,
	"python:3.10": true, "python:3.11": true, "python:3.12": true}

// language is the language of a kind the fabric runs, or "".
func language(kind string) string {
	switch {
	case strings.HasPrefix(kind, "go:"):
		return langGo
	case pythonKinds[kind]:
		return langPython
	}
	return ""
}

// storeExec unpacks an action version's code into its own folder and sets next's exec;
// an error is the 400 to answer.
func (s *Server) storeExec(ex execSpec, name string, next *action) error {
	kind := strings.ToLower(strings.TrimSpace(ex.Kind))
	lang := language(kind)
	if lang == "" {
		return fmt.Errorf("kind %q is not available here: the local fabric runs native binaries under the Go actionloop runtime (kind go:1.22, go:default …) and Python actions (python:3.11, python:3.10, python:3, python:default …); docker actions (blackbox) cannot be pulled", ex.Kind)
	}
	dir := filepath.Join(s.opts.DataDir, "actions", s.opts.Namespace, strings.ReplaceAll(name, "/", "__"), fmt.Sprint(next.generation))
	binary := true
	var err error
	if lang == langGo {
		err = unpackCode(ex.Code, dir)
	} else {
		binary = ex.Binary
		err = unpackPython(ex.Code, ex.Binary, dir)
	}
	if err != nil {
		return errors.New("The action failed to deploy: " + err.Error())
	}
	main := ex.Main
	if main == "" {
		main = "main"
	}
	next.Exec = execSpec{Kind: kind, Main: main, Binary: binary}
	next.codeText = ex.Code
	next.code = &codeDir{path: dir}
	next.Annotations = setKey(next.Annotations, "exec", json.RawMessage(`"`+lang+`"`))
	return nil
}

// unpackCode decodes the base64 zip of a native action into dir and checks that it
// holds an "exec" at the top level.
func unpackCode(code, dir string) error {
	if strings.TrimSpace(code) == "" {
		return errors.New("Missing main/no code to execute.")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(code))
	if err != nil {
		return errors.New("the code is not base64: native actions are a zip holding an \"exec\" binary")
	}
	names, err := archive.Unzip(raw, dir)
	if err != nil {
		return fmt.Errorf("the code is not a zip archive holding an \"exec\" binary: %w", err)
	}
	for _, n := range names {
		if n == "exec" {
			return nil
		}
	}
	return errors.New("the zip has no \"exec\" file at its top level")
}

// unpackPython lays a Python action's code out in dir: a base64 zip (binary) is
// unpacked as it is, and its __main__.py is looked for only when a container
// initialises, as OpenWhisk's runtime does; text code is saved as __main__.py.
func unpackPython(code string, binary bool, dir string) error {
	if strings.TrimSpace(code) == "" {
		return errors.New("Missing main/no code to execute.")
	}
	if !binary {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, python.MainFile), []byte(code), 0o600)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(code))
	if err != nil {
		return errors.New("binary code is not base64")
	}
	if _, err := archive.Unzip(raw, dir); err != nil {
		return fmt.Errorf("binary code is not a zip archive: %w", err)
	}
	return nil
}

// runtime is what an action's containers start from: its kind's runtime and the
// program it runs.
func (s *Server) runtime(a *action) (core.Runtime[container.Request, json.RawMessage], core.Spec) {
	spec := core.Spec{Dir: a.code.path, Env: s.functionEnv(a)}
	if language(a.Exec.Kind) == langPython {
		spec.Path = filepath.Join(a.code.path, python.MainFile)
		return python.ActionLoop{Runtimes: s.python, Main: a.Exec.Main}, spec
	}
	spec.Path = filepath.Join(a.code.path, "exec")
	return container.Runtime{}, spec
}
