//go:build !amd64

package fastblas

func hasKernel() bool { return false }

func kernel6x16(depth int, a, b *float32, ldb int, c *float32, ldc int, add int) {
	panic("fastblas: no kernel on this architecture")
}

func transpose16(dst, src *float32, ld, blocks int) {
	panic("fastblas: no kernel on this architecture")
}

func interleave6(dst, src *float32, lda, blocks int) {
	panic("fastblas: no kernel on this architecture")
}
