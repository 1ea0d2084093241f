package optim

import (
	"math"
	"math/rand/v2"
	"slices"
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

// The AVX2 loops must give the scalar loop's bits exactly, so that a client's update
// does not depend on the CPU it ran on. 1,003 parameters: a vector head and a tail.
func TestVectorStepsMatchScalarBitForBit(t *testing.T) {
	if !vectorSteps() {
		t.Fatal("this CPU lacks AVX2, so the vector steps cannot be tested here")
	}
	const size, steps = 1003, 5
	for _, name := range []string{"sgd", "adam", "nadam"} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			start := make([]float32, size)
			for i := range start {
				start[i] = float32(rng.NormFloat64())
			}
			grads := make([][]float32, steps)
			for s := range grads {
				grads[s] = make([]float32, size)
				for i := range grads[s] {
					grads[s][i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-4)))
				}
			}
			vector, scalar := slices.Clone(start), slices.Clone(start)
			fast, _ := New(name, 1e-3, size)
			slow, _ := New(name, 1e-3, size)
			setVector(slow, false)
			for s := range steps {
				fast.Step(vector, grads[s])
				slow.Step(scalar, grads[s])
			}
			for i := range vector {
				if math.Float32bits(vector[i]) != math.Float32bits(scalar[i]) {
					t.Fatalf("parameter %d: vector %v, scalar %v", i, vector[i], scalar[i])
				}
			}
			if slices.Equal(vector, start) {
				t.Fatal("the steps changed nothing")
			}
		})
	}
}

func setVector(o Optimizer, on bool) {
	switch o := o.(type) {
	case *SGD:
		o.vector = on
	case *Adam:
		o.vector = on
	}
}

// A step applied block by block (Begin, then Update per block, as training does over a
// model's layers) is the whole-vector step, bit for bit, over several steps.
func TestBlockUpdatesEqualStep(t *testing.T) {
	const size = 1003
	blocks := []int{0, 5, 400, 401, 1003} // uneven, one of a single value
	rng := rand.New(rand.NewPCG(9, 10))
	for _, name := range []string{"sgd", "adam", "nadam"} {
		t.Run(name, func(t *testing.T) {
			whole, blocked := make([]float32, size), make([]float32, size)
			a, _ := New(name, 1e-2, size)
			b, _ := New(name, 1e-2, size)
			for range 3 {
				grad := make([]float32, size)
				for i := range grad {
					grad[i] = float32(rng.NormFloat64())
				}
				a.Step(whole, grad)
				b.Begin()
				for i := 1; i < len(blocks); i++ {
					b.Update(blocked, blocks[i-1], grad[blocks[i-1]:blocks[i]])
				}
			}
			for i := range whole {
				if math.Float32bits(whole[i]) != math.Float32bits(blocked[i]) {
					t.Fatalf("parameter %d: step %v, blocks %v", i, whole[i], blocked[i])
				}
			}
		})
	}
}
