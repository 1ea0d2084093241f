package arch

import (
	"math"
	"testing"
)

func TestManifestSizes(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want int
	}{
		// The figures of the seed's Keras models.
		{Spec{Kind: MLP, Hidden: 500}, 397510},
		{Spec{Kind: CNN}, 582026},
		// The FedProx paper's multinomial logistic regression: 60×10 and a bias.
		{Spec{Kind: MCLR}, 610},
	} {
		m, err := tc.spec.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if got := NumParams(m); got != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.spec.Kind, got, tc.want)
		}
	}
	if _, err := (Spec{Kind: "rnn"}).Manifest(); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestInitIsSeeded(t *testing.T) {
	m, _ := Spec{Kind: MLP, Hidden: 20}.Manifest()
	a, b, c := Init(m, 7), Init(m, 7), Init(m, 8)
	same := func(x, y []float32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed gave different weights")
	}
	if same(a, c) {
		t.Error("different seeds gave the same weights")
	}
	// Biases start at zero; kernels are Glorot-uniform: within ±√(6/(fan_in+fan_out)),
	// spread over the whole range, centred on zero.
	off := 0
	for _, p := range m {
		values := a[off : off+p.Size()]
		off += p.Size()
		if len(p.Shape) == 1 {
			for _, v := range values {
				if v != 0 {
					t.Fatalf("%s: bias %v, want 0", p.Name, v)
				}
			}
			continue
		}
		limit := math.Sqrt(6 / float64(p.Shape[0]+p.Shape[1]))
		lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
		for _, v := range values {
			lo, hi, sum = math.Min(lo, float64(v)), math.Max(hi, float64(v)), sum+float64(v)
		}
		// The mean of n uniform values has deviation limit/√(3n); allow four of them.
		mean, tolerance := sum/float64(len(values)), 4*limit/math.Sqrt(3*float64(len(values)))
		if lo < -limit || hi > limit || hi < 0.9*limit || lo > -0.9*limit || math.Abs(mean) > tolerance {
			t.Errorf("%s %v: values in [%.4f, %.4f] mean %.4f, want uniform in ±%.4f", p.Name, p.Shape, lo, hi, mean, limit)
		}
	}
}
