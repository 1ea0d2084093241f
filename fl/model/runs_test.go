package model

import (
	"fmt"
	"math"
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

// Vector pooling gives the plain loop's outputs and winners exactly, ties (first in
// row order wins) and NaN (never wins, gives 0) included, on rows of 8, 12 and 13
// windows (whole, overlapping and odd groups).
func TestPoolRowVectorMatchesPlain(t *testing.T) {
	if !vectorRuns() {
		t.Fatal("this CPU lacks AVX2, so vector pooling cannot be tested here")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for _, windows := range []int{8, 12, 13} {
		convW := 2*windows + 1
		p := &convPool{convW: convW, pre: make([]float32, 3*convW)}
		for i := range p.pre {
			p.pre[i] = float32(rng.IntN(4) - 1) // many ties, many windows at or below 0
		}
		p.pre[convW+5] = float32(math.NaN())
		outs, wins := [2][]float32{}, [2][]int32{}
		for k, vector := range []bool{false, true} {
			p.vector = vector
			outs[k], wins[k] = make([]float32, windows), make([]int32, windows)
			p.poolRow(convW, 0.5, outs[k], wins[k])
		}
		if !slices.Equal(outs[0], outs[1]) || !slices.Equal(wins[0], wins[1]) {
			t.Fatalf("%d windows:\nplain  %v %v\nvector %v %v", windows, outs[0], wins[0], outs[1], wins[1])
		}
	}
}
