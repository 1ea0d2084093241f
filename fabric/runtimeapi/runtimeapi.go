// Package runtimeapi runs one function instance under the AWS Lambda Runtime API
// (version 2018-06-01), the contract of Lambda's provided.al2023 runtime and of every
// runtime interface client: the process finds the API's address in
// AWS_LAMBDA_RUNTIME_API, asks GET /2018-06-01/runtime/invocation/next for each event
// (its headers carry the request id, the deadline, the function's ARN and the trace
// id) and answers with POST …/invocation/{id}/response or …/invocation/{id}/error; a
// runtime that cannot start posts …/runtime/init/error. Each instance gets an API
// server of its own on a loopback port, so its calls need no routing. It is the fabric
// core's Runtime for Lambda functions: Go bootstraps on aws-lambda-go and Python
// handlers under a runtime interface client alike.
package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/process"
)

// ErrExited means the process is gone (Lambda's Runtime.ExitError).
var ErrExited = errors.New("runtimeapi: the function process exited")

// ErrTimeout means a start or an invocation ran past its time limit; the process was
// destroyed. It matches core.ErrTimeout.
var ErrTimeout = core.TimeoutError("runtimeapi: time limit exceeded")

// ErrInit means the runtime reported that it could not start (POST
// /runtime/init/error; Lambda's Runtime.InitError): the process was destroyed.
var ErrInit = errors.New("runtimeapi: the runtime failed to initialise")

// MaxResponse is the largest answer a function may post: Lambda's 6 MB limit on a
// synchronous invocation's response. A larger one fails the invocation
// (FunctionErrorTooLarge).
const MaxResponse = 6 << 20

// Function error types the fabric itself gives an invocation, as Lambda names them.
const (
	FunctionErrorTooLarge = "Function.ResponseSizeTooLarge"
	FunctionErrorUnknown  = "Unhandled"
)

// Request is one invocation as the runtime receives it.
type Request struct {
	// ID is the request id (Lambda-Runtime-Aws-Request-Id).
	ID string
	// FunctionARN is the invoked function's ARN (Lambda-Runtime-Invoked-Function-Arn).
	FunctionARN string
	// TraceID is the X-Ray trace header (Lambda-Runtime-Trace-Id); may be empty.
	TraceID string
	// Payload is the event.
	Payload []byte
}

// Response is the runtime's answer to one invocation: its payload, or the error it
// reported instead.
type Response struct {
	Payload     []byte
	ContentType string
	// Error is set when the invocation failed (…/error, or a response the fabric
	// refused); Payload then holds the error document the caller gets.
	Error *FunctionError
	// PeakRSS is the process's memory high-water mark after the answer, in bytes
	// (Lambda's Max Memory Used); 0 when it could not be read.
	PeakRSS int64
}

// FunctionError is a failed invocation: Lambda's X-Amz-Function-Error, with the error
// document the runtime posted ({"errorMessage", "errorType", "stackTrace"}).
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Runtime starts Runtime-API processes for the fabric core's Invoker.
type Runtime struct{}

// Start implements core.Runtime.
func (Runtime) Start(ctx context.Context, spec core.Spec) (core.Instance[Request, Response], error) {
	return core.Started[Request, Response](Start(ctx, spec))
}

// Process is one running instance: the function's process and the API it calls.
type Process struct {
	proc *process.Process
	api  *api
	srv  *http.Server
	mu   sync.Mutex // one invocation at a time, as one Lambda execution environment
}

// Start launches spec.Path with AWS_LAMBDA_RUNTIME_API added to spec.Env and waits
// until its runtime asks for the first event, at most spec.StartTimeout (a minute when
// unset): that is when Lambda's init phase ends.
func Start(ctx context.Context, spec core.Spec) (*Process, error) {
	return StartCommand(ctx, process.Command{Path: spec.Path, Dir: spec.Dir, Env: spec.Env}, spec.StartTimeout)
}

// StartCommand is Start for a command of the caller's (an interpreter running a
// runtime interface client).
func StartCommand(ctx context.Context, cmd process.Command, timeout time.Duration) (*Process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: %w", err)
	}
	a := newAPI()
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	cmd.Env = append(append([]string(nil), cmd.Env...), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	proc, err := process.Start(cmd)
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("runtimeapi: %w", err)
	}
	p := &Process{proc: proc, api: a, srv: srv}
	if timeout <= 0 {
		timeout = time.Minute
	}
	if err := p.awaitInit(ctx, timeout); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

// awaitInit waits for the runtime's first GET …/next, its init error, its exit, the
// timeout or ctx, whichever comes first.
func (p *Process) awaitInit(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.api.ready:
		return nil
	case fe := <-p.api.initFailed:
		return fmt.Errorf("%w: %s", ErrInit, fe.Error())
	case <-p.proc.Exited():
		return fmt.Errorf("%w during init: %s", ErrExited, p.proc.Described())
	case <-timer.C:
		return fmt.Errorf("%w: no request for an event %v after the start", ErrTimeout, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run hands the runtime one event and waits for its answer, at most limit.Timeout,
// returning the lines the process logged meanwhile. The deadline the runtime is told
// is limit.Deadline, or the timeout's end. On a timeout or an exit the process is
// destroyed; a function error leaves it warm, as Lambda does.
func (p *Process) Run(ctx context.Context, r Request, limit core.Limit) (Response, []string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.proc.Alive() {
		return Response{}, p.proc.Logs(), ErrExited
	}
	deadline := limit.Deadline
	if deadline.IsZero() {
		deadline = time.Now().Add(limit.Timeout)
	}
	results := p.api.begin(event{req: r, deadline: deadline})
	timer := time.NewTimer(limit.Timeout)
	defer timer.Stop()
	select {
	case resp := <-results:
		resp.PeakRSS = p.PeakRSS()
		// What it printed before it answered is in its pipes ahead of the end marks.
		return resp, p.proc.EndActivation(ctx), nil
	case <-p.proc.Exited():
		return Response{}, p.proc.Logs(), fmt.Errorf("%w: %s", ErrExited, p.proc.Described())
	case <-timer.C:
		p.Kill()
		return Response{}, p.proc.Logs(), ErrTimeout
	case <-ctx.Done():
		p.Kill()
		return Response{}, p.proc.Logs(), ctx.Err()
	}
}

// Alive reports whether the process still runs.
func (p *Process) Alive() bool { return p.proc.Alive() }

// Kill ends the process and its API, and waits for the process.
func (p *Process) Kill() {
	p.proc.Kill()
	_ = p.srv.Close()
}

// deadlineHeader is a deadline as Lambda-Runtime-Deadline-Ms carries it.
func deadlineHeader(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// PeakRSS is the process's memory high-water mark in bytes (what Lambda's REPORT line
// calls Max Memory Used), or 0 once it cannot be read (the process is gone).
func (p *Process) PeakRSS() int64 {
	st, err := p.proc.Status()
	if err != nil {
		return 0
	}
	return st.PeakRSS
}
