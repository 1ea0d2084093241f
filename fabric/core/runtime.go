package core

import (
	"context"
	"errors"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/pool"
)

// Runtime starts the instances of functions written for one calling convention: Req is
// what one call hands an instance, Resp what the instance answers. The fabric has three
// conventions: container (OpenWhisk's actionloop, a request line on stdin and a result
// line on fd 3), httpproc (an HTTP server on $PORT, as Cloud Functions and OpenFaaS run
// functions) and runtimeapi (the Lambda Runtime API). Another language or launcher for
// a convention, or another convention, is another implementation; the Invoker needs no
// change.
type Runtime[Req, Resp any] interface {
	// Start launches one instance from spec and waits until it takes requests, at most
	// spec.StartTimeout; exceeding that matches ErrTimeout. When ctx ends first, Start
	// destroys what it began and returns ctx's error.
	Start(ctx context.Context, spec Spec) (Instance[Req, Resp], error)
}

// Started hands on what a convention's own start function returned, typed as its
// process, as the Instance a Runtime returns: a failed start gives a nil Instance, not
// one holding a nil pointer, which would not compare equal to nil.
func Started[Req, Resp any, I Instance[Req, Resp]](inst I, err error) (Instance[Req, Resp], error) {
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// Instance is one running function instance; it serves one request at a time.
type Instance[Req, Resp any] interface {
	pool.Instance
	// Run hands the instance one request and waits for its answer, at most
	// limit.Timeout, returning the lines the instance logged since the previous run.
	// Exceeding the limit matches ErrTimeout; when ctx ends first, Run returns ctx's
	// error. After either, or when the process died, the instance is destroyed. On an
	// instance that is no longer alive Run runs nothing and reports an error.
	Run(ctx context.Context, req Req, limit Limit) (Resp, []string, error)
}

// Spec is what a cold start runs: one version of one function.
type Spec struct {
	// Path is the program: a native binary, or what an interpreting runtime loads.
	Path string
	// Dir is the working directory, where the function's code lies.
	Dir string
	// Env is the process's whole environment, never the fabric's own. Entry points
	// travel in it, as the platforms pass them (FUNCTION_TARGET, __OW_ACTION_NAME).
	Env []string
	// StartTimeout bounds a start until the instance takes requests.
	StartTimeout time.Duration
}

// Limit is one run's time budget.
type Limit struct {
	// Timeout bounds the run from when the instance takes the request.
	Timeout time.Duration
	// Deadline is when the call's time limit ends, counted from when the call got its
	// instance, for conventions that tell the function (actionloop's "deadline"). An
	// injected activation delay falls inside it, as a slow device's would.
	Deadline time.Time
}

// ErrTimeout is what every start or run past its time limit matches (errors.Is): an
// injected hang's and a runtime's own, which a Runtime makes with TimeoutError.
var ErrTimeout = errors.New("time limit exceeded")

// TimeoutError returns an error that reads text and matches ErrTimeout, so a Runtime
// keeps its own wording (platforms show some of it to callers).
func TimeoutError(text string) error { return &timeoutError{text: text} }

type timeoutError struct{ text string }

func (e *timeoutError) Error() string { return e.text }

// Is makes errors.Is(err, ErrTimeout) hold.
func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }
