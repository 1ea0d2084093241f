package optim

import (
	"math"
	"testing"
)

func TestStepsByHand(t *testing.T) {
	tests := []struct {
		name  string
		opt   string
		lr    float64
		grads [][]float32
		want  []float32
	}{
		// w - lr*g twice: 1 - 0.1*2 - 0.1*(-1) = 0.9
		{"sgd", "sgd", 0.1, [][]float32{{2}, {-1}}, []float32{0.9}},
		// Adam's first step moves each weight by lr against the gradient's sign
		// (m̂/√v̂ = ±1 up to epsilon), whatever the gradient's size.
		{"adam first step", "adam", 0.01, [][]float32{{5}}, []float32{0.99}},
		// Second step with the same gradient: again ±lr.
		{"adam steady gradient", "adam", 0.01, [][]float32{{-3}, {-3}}, []float32{1.02}},
		// Nadam's first step: lr * (β1/(1-β1²)·m + (1-β1)/(1-β1)·g) / (√v̂+ε) with m = 0.1g, v̂ = g²:
		// (0.9·0.1/0.19 + 1) = 1.4736842 → 1 - 0.01·1.4736842
		{"nadam first step", "nadam", 0.01, [][]float32{{2}}, []float32{1 - 0.014736842}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := New(tc.opt, tc.lr, 1)
			if err != nil {
				t.Fatal(err)
			}
			w := []float32{1}
			for _, g := range tc.grads {
				o.Step(w, g)
			}
			if math.Abs(float64(w[0]-tc.want[0])) > 1e-5 {
				t.Fatalf("weight %v, want %v", w[0], tc.want[0])
			}
		})
	}
	if _, err := New("rmsprop", 0.1, 1); err == nil {
		t.Error("unknown optimiser accepted")
	}
}
