package python

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fedkeeper/fedkeeper/fabric/container"
	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
	"github.com/fedkeeper/fedkeeper/fabric/process"
	"github.com/fedkeeper/fedkeeper/fabric/runtimeapi"
)

// MainFile is where an OpenWhisk Python action's code lives: the root of its zip, or
// the file its text code is saved as.
const MainFile = "__main__.py"

// ErrNoMain is an OpenWhisk Python action whose zip holds no __main__.py: its
// initialisation fails, as OpenWhisk's does.
var ErrNoMain = errors.New("Zip file does not include " + MainFile)

// ActionLoop is OpenWhisk's Python runtime (kinds python:3, python:3.11 …): spec.Dir
// is the action's unpacked code, spec.Path its __main__.py, Main the function the
// action's exec.main names. It runs the fabric's launcher under the actionloop
// protocol of fabric/container.
type ActionLoop struct {
	*Runtimes
	Main string
}

// Start implements core.Runtime.
func (a ActionLoop) Start(ctx context.Context, spec core.Spec) (core.Instance[container.Request, json.RawMessage], error) {
	if _, err := os.Stat(spec.Path); err != nil {
		return nil, ErrNoMain
	}
	if err := a.Available(); err != nil {
		return nil, err
	}
	main := a.Main
	if main == "" {
		main = "main"
	}
	return core.Started[container.Request, json.RawMessage](container.StartCommand(ctx, a.command(spec, actionLoopScript, spec.Path, main), spec.StartTimeout))
}

// LambdaHandler is Lambda's Python runtime (python3.x): spec.Dir is the function's
// unpacked zip, and _HANDLER in spec.Env names module.function, as Lambda sets it. It
// runs the fabric's runtime interface client under fabric/runtimeapi.
type LambdaHandler struct{ *Runtimes }

// Start implements core.Runtime.
func (l LambdaHandler) Start(ctx context.Context, spec core.Spec) (core.Instance[runtimeapi.Request, runtimeapi.Response], error) {
	if err := l.Available(); err != nil {
		return nil, err
	}
	return core.Started[runtimeapi.Request, runtimeapi.Response](runtimeapi.StartCommand(ctx, l.command(spec, lambdaScript), spec.StartTimeout))
}

// EntryPoint is Cloud Functions' Python runtime (python39 … python312): spec.Dir is
// the uploaded source with main.py at its root, and FUNCTION_TARGET in spec.Env names
// the function, as functions-framework reads it. It runs the fabric's runner as an
// HTTP process of fabric/httpproc.
type EntryPoint struct{ *Runtimes }

// Start implements core.Runtime.
func (e EntryPoint) Start(ctx context.Context, spec core.Spec) (core.Instance[httpproc.Request, httpproc.Response], error) {
	return core.Started[httpproc.Request, httpproc.Response](httpproc.StartCommand(ctx, e.command(spec, entryPointScript), spec.StartTimeout))
}

// Check is what a deploy does before the function takes traffic: the source's
// requirements are importable, main.py loads and holds the entry point env names (a
// function). It runs the source's top-level code once, as Cloud Functions does.
func (e EntryPoint) Check(ctx context.Context, dir string, env []string) error {
	if err := e.Available(); err != nil {
		return err
	}
	missing, err := e.Missing(ctx, filepath.Join(dir, "requirements.txt"), "functions-framework")
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return e.MissingError(missing)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c := e.command(core.Spec{Dir: dir, Env: env}, entryPointScript, "--check")
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("Function failed on loading user code: %s", lastLines(string(out), 20))
	}
	return nil
}

// HandlerFile is where an OpenFaaS python3-http function's handler lives, in the
// folder faas-cli build makes of the template.
const HandlerFile = "function/handler.py"

// Handler is OpenFaaS's python3-http template: spec.Dir holds function/handler.py
// (and function/requirements.txt). It runs the fabric's runner as the watchdog's
// upstream, an HTTP process of fabric/httpproc.
type Handler struct{ *Runtimes }

// Start implements core.Runtime.
func (h Handler) Start(ctx context.Context, spec core.Spec) (core.Instance[httpproc.Request, httpproc.Response], error) {
	return core.Started[httpproc.Request, httpproc.Response](httpproc.StartCommand(ctx, h.command(spec, handlerScript), spec.StartTimeout))
}

// Check is what building the function's image would catch: the handler is there and
// its requirements are importable (faas-cli build pip installs them).
func (h Handler) Check(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, HandlerFile)); err != nil {
		return fmt.Errorf("the folder has no %s", HandlerFile)
	}
	if err := h.Available(); err != nil {
		return err
	}
	missing, err := h.Missing(ctx, filepath.Join(dir, "function", "requirements.txt"))
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return h.MissingError(missing)
	}
	return nil
}

// lastLines keeps the end of a runner's output, where the reason is.
func lastLines(out string, n int) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return process.Truncate(strings.Join(lines, "\n"), 4000)
}
