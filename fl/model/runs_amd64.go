package model

import "golang.org/x/sys/cpu"

// vectorRuns reports whether this CPU (and its OS) runs the AVX2 run loops.
func vectorRuns() bool { return cpu.X86.HasAVX2 }

//go:noescape
func copyRuns(dst, src *float32, n, runs, dstStride, srcStride int)

//go:noescape
func addRuns(dst, src *float32, n, runs, dstStride, srcStride int)

// pool8 pools eight windows of two rows (see runs_amd64.s); the caller guarantees
// sixteen values in each row and eight in dst and won (won may be nil).
//
//go:noescape
func pool8(top, bottom *float32, bias float32, dst *float32, won *int32, first, convW int32)
