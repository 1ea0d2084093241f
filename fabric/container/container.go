// Package container runs one function instance as a real process under OpenWhisk's
// actionloop protocol, playing the part of the runtime's proxy: it starts the "exec"
// binary with a result pipe on file descriptor 3, waits for the acknowledgement, then
// sends one request line per activation on stdin and reads one result line back. It is
// the fabric core's Runtime for native actionloop binaries (OpenWhisk's Go runtime).
package container

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/procattr"
	"github.com/fedkeeper/fedkeeper/fabric/proclog"
)

// ErrExited means the process is gone; the container cannot run anything more.
var ErrExited = errors.New("container: the function process exited")

// ErrTimeout means the activation ran past its time limit; the container was destroyed.
// It matches core.ErrTimeout.
var ErrTimeout = core.TimeoutError("container: time limit exceeded")

// Request is one activation as the actionloop protocol hands it to the function, a JSON
// line on stdin.
type Request struct {
	ActionName    string `json:"action_name"`
	ActionVersion string `json:"action_version"`
	ActivationID  string `json:"activation_id"`
	// Deadline is epoch milliseconds as a string, as the invoker sends it; Run sets it
	// from its limit.
	Deadline      string          `json:"deadline"`
	Namespace     string          `json:"namespace"`
	TransactionID string          `json:"transaction_id"`
	Value         json.RawMessage `json:"value"`
}

// Runtime starts containers for the fabric core's Invoker.
type Runtime struct{}

// Start implements core.Runtime.
func (Runtime) Start(ctx context.Context, spec core.Spec) (core.Instance[Request, json.RawMessage], error) {
	c, err := Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Container is one running function process.
type Container struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	results chan []byte
	exited  chan struct{}
	logs    *proclog.Buffer
	mu      sync.Mutex // one activation at a time
}

// Start launches the process and waits for its acknowledgement, at most
// spec.StartTimeout (a minute when unset).
func Start(ctx context.Context, spec core.Spec) (*Container, error) {
	c, err := launch(spec)
	if err != nil {
		return nil, err
	}
	timeout := spec.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	if err := c.awaitAck(ctx, timeout); err != nil {
		return nil, err
	}
	return c, nil
}

// launch starts the process with the result pipe on fd 3 and gathers what it writes.
func launch(spec core.Spec) (*Container, error) {
	resultsR, resultsW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("container: result pipe: %w", err)
	}
	// Once started, the child holds its own copy of the write end.
	defer resultsW.Close()
	cmd := exec.Command(spec.Path)
	cmd.Dir = spec.Dir
	cmd.Env = append(append([]string(nil), spec.Env...), "__OW_WAIT_FOR_ACK=1")
	cmd.ExtraFiles = []*os.File{resultsW}
	procattr.Bind(cmd)
	c := &Container{cmd: cmd, results: make(chan []byte, 1), exited: make(chan struct{}), logs: &proclog.Buffer{}}
	stdout, stderr, err := c.pipes()
	if err != nil {
		resultsR.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		resultsR.Close()
		return nil, fmt.Errorf("container: start %s: %w", spec.Path, err)
	}
	c.watch(stdout, stderr, resultsR)
	return c, nil
}

// pipes connects the process's standard streams.
func (c *Container) pipes() (stdout, stderr io.Reader, err error) {
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, nil, fmt.Errorf("container: stdin: %w", err)
	}
	if stdout, err = c.cmd.StdoutPipe(); err != nil {
		return nil, nil, fmt.Errorf("container: stdout: %w", err)
	}
	if stderr, err = c.cmd.StderrPipe(); err != nil {
		return nil, nil, fmt.Errorf("container: stderr: %w", err)
	}
	return stdout, stderr, nil
}

// watch gathers the started process's log lines and result lines; exited closes once
// the process is gone and its output read.
func (c *Container) watch(stdout, stderr io.Reader, results *os.File) {
	var streams sync.WaitGroup
	streams.Add(2)
	go c.logs.Collect(stdout, "stdout", &streams)
	go c.logs.Collect(stderr, "stderr", &streams)
	go c.readResults(results)
	go func() {
		streams.Wait()
		_ = c.cmd.Wait()
		close(c.exited)
	}()
}

func (c *Container) readResults(results *os.File) {
	defer results.Close()
	scanner := bufio.NewScanner(results)
	scanner.Buffer(make([]byte, 64<<10), 64<<20)
	for scanner.Scan() {
		c.results <- append([]byte(nil), scanner.Bytes()...)
	}
}

// awaitAck waits for the {"ok":true} an actionloop runtime writes once it is ready; the
// container is destroyed unless it comes within timeout.
func (c *Container) awaitAck(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line := <-c.results:
		var ack struct {
			OK bool `json:"ok"`
		}
		if err := json.Unmarshal(line, &ack); err != nil || !ack.OK {
			c.Kill()
			return fmt.Errorf("container: bad acknowledgement %q", truncate(string(line), 200))
		}
		return nil
	case <-c.exited:
		return fmt.Errorf("%w during initialisation: %s", ErrExited, truncate(strings.Join(c.logs.Take(), " | "), 500))
	case <-timer.C:
		c.Kill()
		return fmt.Errorf("%w during initialisation (%v)", ErrTimeout, timeout)
	case <-ctx.Done():
		c.Kill()
		return ctx.Err()
	}
}

// Run sends one activation, its deadline taken from limit, and waits for its result
// line, at most limit.Timeout. On a timeout or a process exit the container is destroyed
// and must not be reused.
func (c *Container) Run(ctx context.Context, req Request, limit core.Limit) (json.RawMessage, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	req.Deadline = strconv.FormatInt(limit.Deadline.UnixMilli(), 10)
	line, err := json.Marshal(req)
	if err != nil {
		return nil, nil, fmt.Errorf("container: encode request: %w", err)
	}
	select {
	case <-c.exited:
		return nil, c.logs.Take(), ErrExited
	default:
	}
	if _, err := c.stdin.Write(append(line, '\n')); err != nil {
		c.Kill()
		return nil, c.logs.Take(), fmt.Errorf("%w: %v", ErrExited, err)
	}
	timer := time.NewTimer(limit.Timeout)
	defer timer.Stop()
	select {
	case result := <-c.results:
		return result, c.logs.Take(), nil
	case <-c.exited:
		return nil, c.logs.Take(), ErrExited
	case <-timer.C:
		c.Kill()
		return nil, c.logs.Take(), ErrTimeout
	case <-ctx.Done():
		c.Kill()
		return nil, c.logs.Take(), ctx.Err()
	}
}

// Alive reports whether the process still runs.
func (c *Container) Alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Kill ends the process and waits for it.
func (c *Container) Kill() {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
	_ = c.stdin.Close()
	<-c.exited
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
