package fedavg

import "golang.org/x/sys/cpu"

// vectorAdd reports whether this CPU (and its OS) runs the AVX2 loops.
func vectorAdd() bool { return cpu.X86.HasAVX2 }

//go:noescape
func firstNonFinite(x *float32, n int) int

//go:noescape
func addWeighted(sum *float64, x *float32, n int, w float64)
