// Package httpproc runs one function instance that serves HTTP, the runtime contract of
// Cloud Functions (functions-framework listens on $PORT) and of OpenFaaS handlers behind
// the of-watchdog: the process gets a free loopback port in PORT, and each invocation is
// one HTTP request forwarded to it. It is the fabric core's Runtime for HTTP functions.
package httpproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/process"
	"github.com/fedkeeper/fedkeeper/loopback"
)

// ErrExited means the process is gone.
var ErrExited = errors.New("httpproc: the function process exited")

// ErrTimeout means the request ran past its time limit; the process was destroyed. It
// matches core.ErrTimeout.
var ErrTimeout = core.TimeoutError("httpproc: time limit exceeded")

// Runtime starts HTTP processes for the fabric core's Invoker.
type Runtime struct{}

// Start implements core.Runtime.
func (Runtime) Start(ctx context.Context, spec core.Spec) (core.Instance[Request, Response], error) {
	return core.Started[Request, Response](Start(ctx, spec))
}

// Process is one running instance.
type Process struct {
	proc   *process.Process
	base   string
	client *http.Client
	mu     sync.Mutex // one request at a time, as one 1st-gen Cloud Functions instance
}

// Request is one invocation: an HTTP request as it goes to the function.
type Request struct {
	Method string
	// Path is the request's path and query on the function's server.
	Path   string
	Header http.Header
	Body   []byte
}

// Response is the function's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// CopyHeader sets the answer's headers on a platform's own answer, but for those its
// server sets itself (Content-Length, Date).
func (r Response) CopyHeader(dst http.Header) {
	for k, vs := range r.Header {
		if k != "Content-Length" && k != "Date" {
			dst[k] = vs
		}
	}
}

// InjectedFailure is how an HTTP function answers when an injected error fault fails it:
// a 500 with a JSON error, as the fabric's functions answer their own errors.
func InjectedFailure() Response {
	return Response{Status: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"error":"an injected fault: the function failed"}`)}
}

// maxResponse bounds a function's answer (GCF allows 10 MB).
const maxResponse = 32 << 20

// Start launches spec.Path, PORT added to spec.Env, and waits until it listens, at
// most spec.StartTimeout (a minute when unset).
func Start(ctx context.Context, spec core.Spec) (*Process, error) {
	return StartCommand(ctx, process.Command{Path: spec.Path, Dir: spec.Dir, Env: spec.Env}, spec.StartTimeout)
}

// StartCommand launches cmd with a free loopback port in PORT and waits until it
// listens there, at most timeout (a minute when zero).
func StartCommand(ctx context.Context, cmd process.Command, timeout time.Duration) (*Process, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, fmt.Errorf("httpproc: %w", err)
	}
	cmd.Env = append(append([]string(nil), cmd.Env...), "PORT="+strconv.Itoa(port))
	proc, err := process.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("httpproc: %w", err)
	}
	p := &Process{proc: proc, base: "http://127.0.0.1:" + strconv.Itoa(port),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 1}}}
	if timeout <= 0 {
		timeout = time.Minute
	}
	if err := p.awaitListening(ctx, port, timeout); err != nil {
		return nil, err
	}
	return p, nil
}

// awaitListening dials the port until the process takes the connection; the process is
// destroyed unless it does within timeout.
func (p *Process) awaitListening(ctx context.Context, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.proc.Exited():
			return fmt.Errorf("%w during start-up: %s", ErrExited, p.proc.Described())
		case <-ctx.Done():
			p.Kill()
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Kill()
			return fmt.Errorf("%w during start-up: port %d not listening after %v", ErrTimeout, port, timeout)
		}
	}
}

// Run sends one request to the process and returns its answer and the lines it logged
// meanwhile (framed by the end markers written after the answer), waiting at most
// limit.Timeout. On a timeout or exit the process is destroyed.
func (p *Process) Run(ctx context.Context, r Request, limit core.Limit) (Response, []string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.proc.Alive() {
		return Response{}, p.proc.Logs(), ErrExited
	}
	reqCtx, cancel := context.WithTimeout(ctx, limit.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, r.Method, p.base+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return Response{}, nil, fmt.Errorf("httpproc: %w", err)
	}
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Host") {
			continue // the platform's credentials stay with the platform
		}
		req.Header[k] = vs
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Response{}, p.proc.Logs(), p.failed(ctx, reqCtx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		p.Kill()
		return Response{}, p.proc.Logs(), fmt.Errorf("%w: reading the answer: %v", ErrExited, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, p.proc.EndActivation(ctx), nil
}

// failed reads a request that got no answer: the process died, ran past its time
// limit, or the caller went away; but for the first, the process is destroyed.
func (p *Process) failed(ctx, reqCtx context.Context, err error) error {
	if !p.proc.Alive() {
		return ErrExited
	}
	p.Kill()
	switch {
	case reqCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil:
		return ErrTimeout
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("%w: %v", ErrExited, err)
}

// Alive reports whether the process still runs.
func (p *Process) Alive() bool { return p.proc.Alive() }

// Kill ends the process and waits for it.
func (p *Process) Kill() { p.proc.Kill() }
