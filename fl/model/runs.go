package model

import "fmt"

// strided is a patch layout's inner loop: runs of n values, dstStride apart in dst and
// srcStride apart in src, moved (copy) or added (add). The convolution's patches are
// runs of one output row's width (8 for the CNN's second block), too short for copy's
// call to pay, so they go eight lanes at a time where the CPU has AVX2 and the width
// allows it.
type strided struct {
	n, runs, dstStride, srcStride int
	vector                        bool
}

func newStrided(n, runs, dstStride, srcStride int) strided {
	return strided{n: n, runs: runs, dstStride: dstStride, srcStride: srcStride, vector: vectorRuns() && n%8 == 0}
}

// check panics unless every run is inside its slice, since the vector loops read and
// write unchecked.
func (s strided) check(dst, src []float32) {
	if s.runs == 0 {
		return
	}
	if len(dst) < (s.runs-1)*s.dstStride+s.n || len(src) < (s.runs-1)*s.srcStride+s.n {
		panic(fmt.Sprintf("model: %d runs of %d (strides %d and %d) over %d and %d values", s.runs, s.n, s.dstStride, s.srcStride, len(dst), len(src)))
	}
}

func (s strided) copy(dst, src []float32) {
	s.check(dst, src)
	if s.vector {
		copyRuns(&dst[0], &src[0], s.n, s.runs, s.dstStride, s.srcStride)
		return
	}
	for r := range s.runs {
		copy(dst[r*s.dstStride:][:s.n], src[r*s.srcStride:][:s.n])
	}
}

func (s strided) add(dst, src []float32) {
	s.check(dst, src)
	if s.vector {
		addRuns(&dst[0], &src[0], s.n, s.runs, s.dstStride, s.srcStride)
		return
	}
	for r := range s.runs {
		d, v := dst[r*s.dstStride:][:s.n], src[r*s.srcStride:][:s.n]
		for i := range d {
			d[i] += v[i]
		}
	}
}
