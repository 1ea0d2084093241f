package optim

import "golang.org/x/sys/cpu"

// vectorSteps reports whether this CPU (and its OS) runs the AVX2 step loops.
func vectorSteps() bool { return cpu.X86.HasAVX2 }

//go:noescape
func adamSteps(p, grad, m, v *float32, n int, c *adamConsts)

//go:noescape
func sgdSteps(p, grad *float32, n int, lr float32)
