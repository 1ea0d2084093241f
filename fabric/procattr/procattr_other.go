//go:build !linux

// Package procattr makes function processes die with the fabric that started them
// where the system allows it (Linux); elsewhere it does nothing but kill.
package procattr

import "os/exec"

// Bind does nothing on this system.
func Bind(*exec.Cmd) {}

// Kill ends the started cmd's process.
func Kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
