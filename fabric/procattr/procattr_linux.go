// Package procattr makes function processes die with the fabric that started them, so a
// crashed fabric (kill -9) leaves no orphaned functions behind, as a crashed invoker's
// containers go with it, and lets the fabric end a function with everything it started,
// as stopping a container does.
package procattr

import (
	"os/exec"
	"syscall"
)

// Bind ties cmd's process to the life of the calling thread's process and gives it a
// process group of its own, which Kill ends.
func Bind(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// Kill ends the started cmd's process group: the function and whatever it started
// (worker processes of Python's multiprocessing, a shell's children), which would
// otherwise keep its output pipes open.
func Kill(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
