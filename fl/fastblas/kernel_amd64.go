package fastblas

import "golang.org/x/sys/cpu"

// hasKernel reports whether this CPU (and its OS) runs the AVX2 and FMA kernel.
func hasKernel() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// kernel6x16 computes one 6×16 tile of C; see kernel_amd64.s. The caller guarantees
// every address it reads and writes is inside its slices.
//
//go:noescape
func kernel6x16(depth int, a, b *float32, ldb int, c *float32, ldc int, add int)

// transpose16 packs blocks×8 steps of sixteen rows of a transposed B (see
// kernel_amd64.s); the caller guarantees the rows and dst hold them.
//
//go:noescape
func transpose16(dst, src *float32, ld, blocks int)

// interleave6 packs blocks×8 steps of a full row panel of an untransposed A (see
// kernel_amd64.s); the caller guarantees the rows and dst hold them.
//
//go:noescape
func interleave6(dst, src *float32, lda, blocks int)
