// Package process is the plumbing every fabric runtime shares beneath its protocol: it
// starts one function process (a program and its arguments, in the function's folder,
// with the environment it is given and no other), ties it to the fabric's life, gathers
// its stdout and stderr as log lines, and frames each activation's lines as OpenWhisk's
// proxy does, with the end marker written to both streams after the answer. The
// runtimes (fabric/container's actionloop, fabric/httpproc's HTTP server, and the
// Python ones of fabric/python) add only their protocol.
package process

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/procattr"
	"github.com/fedkeeper/fedkeeper/fabric/proclog"
)

// Command is what to run.
type Command struct {
	// Path is the program; Args follow it (not the program's own name).
	Path string
	Args []string
	// Dir is the working directory; Env the whole environment.
	Dir string
	Env []string
	// ExtraFiles are the process's file descriptors 3, 4, … (actionloop's result pipe).
	ExtraFiles []*os.File
	// Stdin gives the process a pipe on standard input; without it, it reads nothing.
	Stdin bool
}

// Process is one running function process.
type Process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// outW and errW are the fabric's own ends of the log pipes: the end markers go in
	// there, behind everything the function wrote before it answered.
	outW, errW *os.File
	logs       *proclog.Buffer
	exited     chan struct{}
	framed     int // end markers written so far, per stream
}

// Start launches the command; its output is gathered until it exits.
func Start(c Command) (*Process, error) {
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir, cmd.Env, cmd.ExtraFiles = c.Dir, c.Env, c.ExtraFiles
	procattr.Bind(cmd)
	p := &Process{cmd: cmd, logs: &proclog.Buffer{}, exited: make(chan struct{})}
	if c.Stdin {
		var err error
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("process: stdin: %w", err)
		}
	}
	outR, errR, err := p.logPipes()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		p.closeWriters()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("process: start %s: %w", c.Path, err)
	}
	p.watch(outR, errR)
	return p, nil
}

// logPipes makes the stdout and stderr pipes; the process gets the write ends and the
// fabric keeps its own copies for the markers.
func (p *Process) logPipes() (outR, errR *os.File, err error) {
	if outR, p.outW, err = os.Pipe(); err != nil {
		return nil, nil, fmt.Errorf("process: stdout pipe: %w", err)
	}
	if errR, p.errW, err = os.Pipe(); err != nil {
		outR.Close()
		p.outW.Close()
		return nil, nil, fmt.Errorf("process: stderr pipe: %w", err)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.outW, p.errW
	return outR, errR, nil
}

func (p *Process) closeWriters() {
	p.outW.Close()
	p.errW.Close()
}

// watch gathers the log lines; exited closes once the process is gone and everything
// it wrote is read. The fabric's write ends close when the process ends, so the
// streams then end too.
func (p *Process) watch(outR, errR *os.File) {
	var streams sync.WaitGroup
	streams.Add(2)
	go p.collect(outR, "stdout", &streams)
	go p.collect(errR, "stderr", &streams)
	go func() {
		_ = p.cmd.Wait()
		p.closeWriters()
		streams.Wait()
		close(p.exited)
	}()
}

func (p *Process) collect(r *os.File, stream string, wg *sync.WaitGroup) {
	defer r.Close()
	p.logs.Collect(r, stream, wg)
}

// Stdin is the process's standard input (nil unless the Command asked for it).
func (p *Process) Stdin() io.Writer { return p.stdin }

// Exited closes once the process is gone and its output read.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the process still runs.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Kill ends the process (and what it started) and waits until it is gone.
func (p *Process) Kill() {
	procattr.Kill(p.cmd)
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
	<-p.exited
}

// Logs returns the lines gathered since the last Logs or EndActivation, without
// framing: for a process that is gone or failing.
func (p *Process) Logs() []string { return p.logs.Take() }

// Described is the end of what the process wrote so far (where a traceback or a
// fatal message is), without the timestamps, as one short text for an error.
func (p *Process) Described() string {
	lines := p.logs.Take()
	if len(lines) > describedLines {
		lines = lines[len(lines)-describedLines:]
	}
	for i, line := range lines {
		_, lines[i], _ = strings.Cut(line, " ")
	}
	text := strings.Join(lines, " | ")
	if len(text) > describedBytes {
		text = "…" + text[len(text)-describedBytes:]
	}
	return text
}

// What Described keeps.
const (
	describedLines = 12
	describedBytes = 1500
)

// markerWait bounds how long an activation's lines may take to come through; the
// markers are written right behind them, so only a wedged reader reaches it.
const markerWait = 5 * time.Second

// EndActivation ends one activation's logs as OpenWhisk's proxy does: it writes the
// end marker to both streams, behind everything the function wrote before it answered,
// and returns the lines read up to the markers.
func (p *Process) EndActivation(ctx context.Context) []string {
	p.framed++
	marker := []byte(proclog.EndMarker + "\n")
	// Once the process is gone the write ends are closed; its lines are all read then.
	_, _ = p.outW.Write(marker)
	_, _ = p.errW.Write(marker)
	ctx, cancel := context.WithTimeout(ctx, markerWait)
	defer cancel()
	p.logs.Await(ctx, p.framed, p.exited, "stdout", "stderr")
	return p.logs.Take()
}

// Truncate shortens s to n bytes, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
