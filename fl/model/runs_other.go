//go:build !amd64

package model

func vectorRuns() bool { return false }

func copyRuns(dst, src *float32, n, runs, dstStride, srcStride int) {
	panic("model: no vector runs on this architecture")
}

func addRuns(dst, src *float32, n, runs, dstStride, srcStride int) {
	panic("model: no vector runs on this architecture")
}

func pool8(top, bottom *float32, bias float32, dst *float32, won *int32, first, convW int32) {
	panic("model: no vector pooling on this architecture")
}
