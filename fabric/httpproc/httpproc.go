// Package httpproc runs one function instance that serves HTTP, the runtime contract of
// Cloud Functions (functions-framework listens on $PORT) and of OpenFaaS handlers behind
// the of-watchdog: the process gets a free loopback port in PORT, and each invocation is
// one HTTP request forwarded to it.
package httpproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/procattr"
	"github.com/fedkeeper/fedkeeper/fabric/proclog"
	"github.com/fedkeeper/fedkeeper/loopback"
)

// ErrExited means the process is gone.
var ErrExited = errors.New("httpproc: the function process exited")

// ErrTimeout means the request ran past its time limit; the process was destroyed.
var ErrTimeout = errors.New("httpproc: time limit exceeded")

// Spec says what to run.
type Spec struct {
	Path string
	Dir  string
	// Env is the process's whole environment; PORT is added.
	Env []string
	// StartTimeout bounds the start-up until the port accepts connections.
	StartTimeout time.Duration
}

// Process is one running instance.
type Process struct {
	cmd    *exec.Cmd
	base   string
	exited chan struct{}
	logs   *proclog.Buffer
	client *http.Client
	mu     sync.Mutex // one request at a time, as one 1st-gen Cloud Functions instance
}

// Response is the function's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxResponse bounds a function's answer (GCF allows 10 MB).
const maxResponse = 32 << 20

// Start launches the process and waits until it listens.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, fmt.Errorf("httpproc: %w", err)
	}
	cmd := exec.Command(spec.Path)
	cmd.Dir = spec.Dir
	cmd.Env = append(append([]string(nil), spec.Env...), "PORT="+strconv.Itoa(port))
	procattr.Bind(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("httpproc: stdout: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("httpproc: stderr: %w", err)
	}
	p := &Process{
		cmd: cmd, base: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{}), logs: &proclog.Buffer{},
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 1}},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("httpproc: start %s: %w", spec.Path, err)
	}
	var streams sync.WaitGroup
	streams.Add(2)
	go p.logs.Collect(stdout, "stdout", &streams)
	go p.logs.Collect(stderr, "stderr", &streams)
	go func() {
		streams.Wait()
		_ = cmd.Wait()
		close(p.exited)
	}()

	timeout := spec.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%w during start-up: %s", ErrExited, truncate(strings.Join(p.logs.Take(), " | "), 500))
		case <-ctx.Done():
			p.Kill()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("%w during start-up: port %d not listening after %v", ErrTimeout, port, timeout)
		}
	}
}

// Forward sends one request to the process and returns its answer and the lines it
// logged meanwhile. On a timeout or exit the process is destroyed.
func (p *Process) Forward(ctx context.Context, method, path string, header http.Header, body []byte, timeout time.Duration) (Response, []string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.exited:
		return Response{}, p.logs.Take(), ErrExited
	default:
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, method, p.base+path, bytes.NewReader(body))
	if err != nil {
		return Response{}, nil, fmt.Errorf("httpproc: %w", err)
	}
	for k, vs := range header {
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Host") {
			continue // the platform's credentials stay with the platform
		}
		req.Header[k] = vs
	}
	resp, err := p.client.Do(req)
	if err != nil {
		select {
		case <-p.exited:
			return Response{}, p.logs.Take(), ErrExited
		default:
		}
		p.Kill()
		if reqCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return Response{}, p.logs.Take(), ErrTimeout
		}
		if ctx.Err() != nil {
			return Response{}, p.logs.Take(), ctx.Err()
		}
		return Response{}, p.logs.Take(), fmt.Errorf("%w: %v", ErrExited, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		p.Kill()
		return Response{}, p.logs.Take(), fmt.Errorf("%w: reading the answer: %v", ErrExited, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, p.logs.Take(), nil
}

// Alive reports whether the process still runs.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Kill ends the process and waits for it.
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
