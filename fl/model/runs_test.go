package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The vector runs move and add exactly what the plain loops do, and refuse runs that
// reach past their slices instead of touching memory outside them.
func TestStridedRuns(t *testing.T) {
	if !vectorRuns() {
		t.Fatal("this CPU lacks AVX2, so the vector runs cannot be tested here")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct{ n, runs, dstStride, srcStride int }{
		{8, 8, 12, 8}, {8, 8, 8, 12}, {24, 24, 28, 24}, {16, 1, 16, 16}, {5, 5, 9, 5},
	} {
		t.Run(fmt.Sprintf("%d×%d", s.runs, s.n), func(t *testing.T) {
			dst := make([]float32, (s.runs-1)*s.dstStride+s.n)
			src := make([]float32, (s.runs-1)*s.srcStride+s.n)
			for i := range dst {
				dst[i] = float32(rng.NormFloat64())
			}
			for i := range src {
				src[i] = float32(rng.NormFloat64())
			}
			fast := newStrided(s.n, s.runs, s.dstStride, s.srcStride)
			plain := fast
			plain.vector = false
			for _, op := range []string{"copy", "add"} {
				got, want := slices.Clone(dst), slices.Clone(dst)
				if op == "copy" {
					fast.copy(got, src)
					plain.copy(want, src)
				} else {
					fast.add(got, src)
					plain.add(want, src)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: vector and plain runs differ", op)
				}
				if slices.Equal(got, dst) {
					t.Fatalf("%s changed nothing", op)
				}
			}
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "runs of") {
					t.Fatalf("a short source gave %v, want a panic", r)
				}
			}()
			fast.add(dst, src[:len(src)-1])
		})
	}
}
