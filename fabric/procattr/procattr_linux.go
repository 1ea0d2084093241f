// Package procattr makes function processes die with the fabric that started them, so a
// crashed fabric (kill -9) leaves no orphaned functions behind, as a crashed invoker's
// containers go with it.
package procattr

import (
	"os/exec"
	"syscall"
)

// Bind ties cmd's process to the life of the calling thread's process.
func Bind(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
