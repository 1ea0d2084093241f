package fedavg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestAverageByHand(t *testing.T) {
	tests := []struct {
		name    string
		updates [][]float32
		samples []int
		want    []float32
	}{
		{"one update is itself", [][]float32{{1, -2, 3}}, []int{5}, []float32{1, -2, 3}},
		{"equal weights", [][]float32{{0, 2}, {4, 6}}, []int{10, 10}, []float32{2, 4}},
		// (100*1 + 300*5) / 400 = 4, (100*2 + 300*(-2)) / 400 = -1
		{"weighted by samples", [][]float32{{1, 2}, {5, -2}}, []int{100, 300}, []float32{4, -1}},
		// (1*3 + 2*6 + 3*9) / 6 = 7
		{"three clients", [][]float32{{3}, {6}, {9}}, []int{1, 2, 3}, []float32{7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acc := NewAccumulator(len(tc.want))
			for i, u := range tc.updates {
				if err := acc.Add(u, tc.samples[i]); err != nil {
					t.Fatal(err)
				}
			}
			got, err := acc.Average()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			total := 0
			for _, s := range tc.samples {
				total += s
			}
			if acc.Samples() != total || acc.Count() != len(tc.updates) {
				t.Errorf("samples %d count %d", acc.Samples(), acc.Count())
			}
		})
	}
}

func TestRejectsBadUpdates(t *testing.T) {
	tests := []struct {
		name    string
		params  []float32
		samples int
	}{
		{"wrong length", []float32{1, 2, 3}, 1},
		{"no samples", []float32{1, 2}, 0},
		{"NaN", []float32{float32(math.NaN()), 2}, 1},
		{"Inf", []float32{1, float32(math.Inf(-1))}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acc := NewAccumulator(2)
			if err := acc.Add([]float32{1, 1}, 1); err != nil {
				t.Fatal(err)
			}
			if err := acc.Add(tc.params, tc.samples); err == nil {
				t.Fatal("bad update accepted")
			}
			got, _ := acc.Average()
			if got[0] != 1 || got[1] != 1 || acc.Count() != 1 {
				t.Errorf("a rejected update changed the average: %v", got)
			}
		})
	}
	if _, err := NewAccumulator(2).Average(); err == nil {
		t.Error("average of nothing succeeded")
	}
}

// A discounted update weighs less than its example count; the example count still adds up.
func TestAddWeighted(t *testing.T) {
	acc := NewAccumulator(1)
	if err := acc.Add([]float32{0}, 100); err != nil {
		t.Fatal(err)
	}
	// 100 examples at half weight: (100*0 + 50*6) / 150 = 2
	if err := acc.AddWeighted([]float32{6}, 50, 100); err != nil {
		t.Fatal(err)
	}
	got, err := acc.Average()
	if err != nil || math.Abs(float64(got[0])-2) > 1e-6 || acc.Samples() != 200 || acc.Count() != 2 {
		t.Fatalf("average %v (%v), samples %d, count %d", got, err, acc.Samples(), acc.Count())
	}
	for _, w := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := acc.AddWeighted([]float32{1}, w, 10); err == nil {
			t.Errorf("weight %v accepted", w)
		}
	}
}

// Averaging updates through partial sums (two batches merged) gives the average of
// folding them all into one accumulator, to float rounding; a bad partial changes
// nothing.
func TestMergedPartialsAverageAsOne(t *testing.T) {
	updates := [][]float32{{1, 2, 3}, {4, 5, 6}, {-1, 0.5, 9}, {2, 2, 2}}
	samples := []int{10, 30, 5, 55}
	whole := NewAccumulator(3)
	batches := []*Accumulator{NewAccumulator(3), NewAccumulator(3)}
	for i, u := range updates {
		if err := whole.Add(u, samples[i]); err != nil {
			t.Fatal(err)
		}
		if err := batches[i%2].Add(u, samples[i]); err != nil {
			t.Fatal(err)
		}
	}
	merged := NewAccumulator(3)
	for _, b := range batches {
		if err := merged.Merge(b.Partial()); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []Partial{{Sum: []float64{1, 2}, Weight: 1, Samples: 1, Count: 1}, {Sum: []float64{1, math.NaN(), 3}, Weight: 1, Samples: 1, Count: 1}, {Sum: []float64{1, 2, 3}, Count: 1, Samples: 1}} {
		if err := merged.Merge(bad); err == nil {
			t.Errorf("merged %+v", bad)
		}
	}
	want, _ := whole.Average()
	got, _ := merged.Average()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Errorf("value %d: merged %v, whole %v", i, got[i], want[i])
		}
	}
	if merged.Count() != 4 || merged.Samples() != 100 {
		t.Errorf("merged %d updates of %d samples, want 4 of 100", merged.Count(), merged.Samples())
	}
}

// The vector fold gives the scalar loop's bits, and its check finds the first NaN or
// infinity wherever it sits (in the vector part or the tail), leaving the sum as it was.
func TestVectorFoldMatchesScalar(t *testing.T) {
	if !vectorAdd() {
		t.Fatal("this CPU lacks AVX2, so the vector fold cannot be tested here")
	}
	const size = 1003
	rng := rand.New(rand.NewPCG(31, 32))
	fast, plain := NewAccumulator(size), NewAccumulator(size)
	plain.vector = false
	for u := range 5 {
		update := make([]float32, size)
		for i := range update {
			update[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-4)))
		}
		w := 1 + rng.Float64()*600
		if err := fast.AddWeighted(update, w, 10+u); err != nil {
			t.Fatal(err)
		}
		if err := plain.AddWeighted(update, w, 10+u); err != nil {
			t.Fatal(err)
		}
	}
	for i := range fast.sum {
		if math.Float64bits(fast.sum[i]) != math.Float64bits(plain.sum[i]) {
			t.Fatalf("sum %d: vector %v, scalar %v", i, fast.sum[i], plain.sum[i])
		}
	}
	before := append([]float64(nil), fast.sum...)
	for _, at := range []int{0, 5, 8, 999, 1002} {
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
			update := make([]float32, size)
			update[at] = bad
			if at+1 < size {
				update[at+1] = float32(math.NaN()) // a later one: the first is reported
			}
			err := fast.AddWeighted(update, 1, 1)
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("value %d is", at)) {
				t.Fatalf("bad value at %d: %v", at, err)
			}
		}
	}
	if !slices.Equal(before, fast.sum) {
		t.Fatal("a refused update changed the sum")
	}
}
