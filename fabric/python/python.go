// Package python runs Python functions in the local fabric, each platform's way: an
// OpenWhisk Python action under the actionloop protocol (ActionLoop), a Cloud Functions
// Python source as functions-framework serves it (EntryPoint), an OpenFaaS python3-http
// handler as the template's index.py serves it (Handler), a Lambda Python handler under
// a runtime interface client of the fabric's own (LambdaHandler). The launchers and runners are
// small Python programs of the fabric's own (standard library and Flask), embedded here
// and written into the fabric's data folder by Install; the configured interpreter runs
// them. Each runtime plugs into the fabric's core through the convention its platform
// speaks: fabric/container's actionloop, fabric/httpproc's HTTP server or
// fabric/runtimeapi's Lambda Runtime API.
package python

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/process"
)

// DefaultInterpreter is Debian's python3: Debian's packages (python3-flask,
// python3-torch, …) import under it only, not under another python3 first on PATH.
const DefaultInterpreter = "/usr/bin/python3"

//go:embed scripts/*.py scripts/fabric_shim/functions_framework/__init__.py
var scripts embed.FS

// The runners in scripts/.
const (
	actionLoopScript   = "fabric_actionloop.py"
	entryPointScript   = "fabric_gcf.py"
	handlerScript      = "fabric_openfaas.py"
	lambdaScript       = "fabric_lambda.py"
	requirementsScript = "fabric_requirements.py"
)

// checkTimeout bounds a deploy's check (loading a source that imports torch takes
// seconds).
const checkTimeout = 2 * time.Minute

// Runtimes are the runners installed in a folder and the interpreter that runs them.
type Runtimes struct {
	Interpreter string
	dir         string
}

// Install writes the runners into dir (replacing what was there) for interpreter
// (DefaultInterpreter when empty).
func Install(dir, interpreter string) (*Runtimes, error) {
	if interpreter == "" {
		interpreter = DefaultInterpreter
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("python: clear %s: %w", dir, err)
	}
	sub, err := fs.Sub(scripts, "scripts")
	if err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return nil, fmt.Errorf("python: install the runners in %s: %w", dir, err)
	}
	return &Runtimes{Interpreter: interpreter, dir: dir}, nil
}

// Available reports whether the interpreter can run: a deploy of Python code fails with
// this error, naming what to install or configure, before anything else.
func (r *Runtimes) Available() error {
	info, err := os.Stat(r.Interpreter)
	if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return fmt.Errorf("the fabric's Python interpreter %s is missing: install python3 (Debian: apt-get install python3, or run tools/deps.sh) or set providers.<platform>.<cluster>.fabric.python", r.Interpreter)
	}
	return nil
}

// command runs script with args under the interpreter, in spec's folder and
// environment. The interpreter's output is unbuffered, so every line a function
// prints reaches the activation it belongs to.
func (r *Runtimes) command(spec core.Spec, script string, args ...string) process.Command {
	return process.Command{
		Path: r.Interpreter, Args: append([]string{"-u", filepath.Join(r.dir, script)}, args...),
		Dir: spec.Dir, Env: environment(spec.Env),
	}
}

// environment is a function's environment with the interpreter's defaults in front,
// which the platform's own variables override: UTF-8 streams as OpenWhisk's Python
// images set them, and one thread for numerical libraries (torch, OpenBLAS), a
// container's share of one core as GOMAXPROCS=1 is for Go functions.
func environment(env []string) []string {
	return append([]string{"PYTHONIOENCODING=UTF-8", "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1"}, env...)
}

// Missing lists the packages of a requirements.txt the interpreter cannot import,
// besides those the fabric's runner provides itself; none when the file is absent.
func (r *Runtimes) Missing(ctx context.Context, requirements string, provided ...string) ([]string, error) {
	if _, err := os.Stat(requirements); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err := r.Available(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	args := append([]string{filepath.Join(r.dir, requirementsScript), requirements}, provided...)
	out, err := exec.CommandContext(ctx, r.Interpreter, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("python: check %s: %w%s", requirements, err, stderrOf(err))
	}
	var missing []string
	if err := json.Unmarshal(out, &missing); err != nil {
		return nil, fmt.Errorf("python: check %s: %q: %w", requirements, out, err)
	}
	return missing, nil
}

// MissingError words missing requirements for a deploy that fails on them: a real
// platform would pip install them, the fabric cannot.
func (r *Runtimes) MissingError(missing []string) error {
	debs := make([]string, len(missing))
	for i, m := range missing {
		debs[i] = "python3-" + strings.ToLower(strings.ReplaceAll(m, "_", "-"))
	}
	return fmt.Errorf("requirements.txt asks for %s, which %s cannot import: the local fabric cannot pip install (a real platform would); install them for that interpreter (Debian: apt-get install %s) or point the cluster's fabric.python at an interpreter that has them",
		strings.Join(missing, ", "), r.Interpreter, strings.Join(debs, " "))
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		return ": " + process.Truncate(strings.TrimSpace(string(exit.Stderr)), 2000)
	}
	return ""
}

// Require checks that interpreter runs and imports modules, and otherwise names the
// Debian packages to install: the fabric's tests fail with it rather than skip.
func Require(ctx context.Context, interpreter string, modules ...string) error {
	if interpreter == "" {
		interpreter = DefaultInterpreter
	}
	code, debs := "import sys", []string{"python3"}
	if len(modules) > 0 {
		code = "import " + strings.Join(modules, ", ")
	}
	for _, m := range modules {
		debs = append(debs, "python3-"+m)
	}
	if out, err := exec.CommandContext(ctx, interpreter, "-c", code).CombinedOutput(); err != nil {
		return fmt.Errorf("%s cannot %s (%v: %s): install %s (Debian: apt-get install, or run tools/deps.sh)",
			interpreter, code, err, process.Truncate(strings.TrimSpace(string(out)), 200), strings.Join(debs, " "))
	}
	return nil
}
