// Package container runs one function instance as a real process under OpenWhisk's
// actionloop protocol, playing the part of the runtime's proxy: it starts the "exec"
// binary with a result pipe on file descriptor 3, waits for the acknowledgement, then
// sends one request line per activation on stdin and reads one result line back, then
// frames the activation's logs with the end markers. It is the fabric core's Runtime for
// native actionloop binaries (OpenWhisk's Go runtime); StartCommand runs interpreted
// launchers (fabric/python's) under the same protocol.
package container

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/process"
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

// Runtime starts containers of native actionloop binaries (OpenWhisk's Go runtime) for
// the fabric core's Invoker: spec.Path is the "exec" binary itself. Interpreted
// runtimes (fabric/python) start their launcher with StartCommand.
type Runtime struct{}

// Start implements core.Runtime.
func (Runtime) Start(ctx context.Context, spec core.Spec) (core.Instance[Request, json.RawMessage], error) {
	return core.Started[Request, json.RawMessage](Start(ctx, spec))
}

// Container is one running function process.
type Container struct {
	proc    *process.Process
	results chan []byte
	mu      sync.Mutex // one activation at a time
}

// Start launches spec.Path and waits for its acknowledgement, at most
// spec.StartTimeout (a minute when unset).
func Start(ctx context.Context, spec core.Spec) (*Container, error) {
	return StartCommand(ctx, process.Command{Path: spec.Path, Dir: spec.Dir, Env: spec.Env}, spec.StartTimeout)
}

// StartCommand launches cmd as an actionloop process (the result pipe on fd 3, the
// requests on stdin, __OW_WAIT_FOR_ACK set) and waits for its acknowledgement, at most
// timeout (a minute when zero).
func StartCommand(ctx context.Context, cmd process.Command, timeout time.Duration) (*Container, error) {
	c, err := launch(cmd)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	if err := c.awaitAck(ctx, timeout); err != nil {
		return nil, err
	}
	return c, nil
}

// launch starts the process with the result pipe on fd 3 and reads its result lines.
func launch(cmd process.Command) (*Container, error) {
	resultsR, resultsW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("container: result pipe: %w", err)
	}
	// Once started, the child holds its own copy of the write end.
	defer resultsW.Close()
	cmd.Env = append(append([]string(nil), cmd.Env...), "__OW_WAIT_FOR_ACK=1")
	cmd.ExtraFiles, cmd.Stdin = []*os.File{resultsW}, true
	proc, err := process.Start(cmd)
	if err != nil {
		resultsR.Close()
		return nil, fmt.Errorf("container: %w", err)
	}
	c := &Container{proc: proc, results: make(chan []byte, 1)}
	go c.readResults(resultsR)
	return c, nil
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
			return fmt.Errorf("container: bad acknowledgement %q", process.Truncate(string(line), 200))
		}
		return nil
	case <-c.proc.Exited():
		return fmt.Errorf("%w during initialisation: %s", ErrExited, c.proc.Described())
	case <-timer.C:
		c.Kill()
		return fmt.Errorf("%w during initialisation (%v)", ErrTimeout, timeout)
	case <-ctx.Done():
		c.Kill()
		return ctx.Err()
	}
}

// Run sends one activation, its deadline taken from limit, and waits for its result
// line, at most limit.Timeout; the activation's log lines are those up to the end
// markers written after the result. On a timeout or a process exit the container is
// destroyed and must not be reused.
func (c *Container) Run(ctx context.Context, req Request, limit core.Limit) (json.RawMessage, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	req.Deadline = strconv.FormatInt(limit.Deadline.UnixMilli(), 10)
	line, err := json.Marshal(req)
	if err != nil {
		return nil, nil, fmt.Errorf("container: encode request: %w", err)
	}
	if !c.proc.Alive() {
		return nil, c.proc.Logs(), ErrExited
	}
	if _, err := c.proc.Stdin().Write(append(line, '\n')); err != nil {
		c.Kill()
		return nil, c.proc.Logs(), fmt.Errorf("%w: %v", ErrExited, err)
	}
	timer := time.NewTimer(limit.Timeout)
	defer timer.Stop()
	select {
	case result := <-c.results:
		return result, c.proc.EndActivation(ctx), nil
	case <-c.proc.Exited():
		return nil, c.proc.Logs(), ErrExited
	case <-timer.C:
		c.Kill()
		return nil, c.proc.Logs(), ErrTimeout
	case <-ctx.Done():
		c.Kill()
		return nil, c.proc.Logs(), ctx.Err()
	}
}

// Alive reports whether the process still runs.
func (c *Container) Alive() bool { return c.proc.Alive() }

// Kill ends the process and waits for it.
func (c *Container) Kill() { c.proc.Kill() }
