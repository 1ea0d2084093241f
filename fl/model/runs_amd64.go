package model

import "golang.org/x/sys/cpu"

// vectorRuns reports whether this CPU (and its OS) runs the AVX2 run loops.
func vectorRuns() bool { return cpu.X86.HasAVX2 }

//go:noescape
func copyRuns(dst, src *float32, n, runs, dstStride, srcStride int)

//go:noescape
func addRuns(dst, src *float32, n, runs, dstStride, srcStride int)
