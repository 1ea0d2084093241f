// Package optim holds the clients' optimisers (Adam, Nadam, SGD) as plain loops over a
// flat parameter vector; they are several times cheaper than gorgonia's solvers and
// follow the Keras formulas the seed trained with.
package optim

import (
	"fmt"
	"math"
)

// Optimizer updates parameters in place from their gradient.
type Optimizer interface {
	// Step applies one update; params and grad have the same length every call.
	Step(params, grad []float32)
	// Begin starts a step that Update applies one block at a time, for gradients that
	// live in separate buffers (a model's layers): Update(params, off, grad) updates
	// params[off:off+len(grad)] exactly as Step would. Between one Begin and the next,
	// each parameter is updated once.
	Begin()
	Update(params []float32, off int, grad []float32)
}

// New returns an optimiser by name: adam, nadam or sgd.
func New(name string, lr float64, size int) (Optimizer, error) {
	vector := vectorSteps()
	switch name {
	case "adam", "nadam":
		return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, Nesterov: name == "nadam",
			m: make([]float32, size), v: make([]float32, size), vector: vector}, nil
	case "sgd":
		return &SGD{LR: lr, vector: vector}, nil
	}
	return nil, fmt.Errorf("optim: unknown optimiser %q (want adam, nadam or sgd)", name)
}

// SGD is plain gradient descent.
type SGD struct {
	LR     float64
	vector bool // eight parameters at a time (AVX2), same bits
}

// Step implements Optimizer.
func (s *SGD) Step(params, grad []float32) { s.Update(params, 0, grad) }

// Begin implements Optimizer: plain gradient descent keeps no state.
func (s *SGD) Begin() {}

// Update implements Optimizer.
func (s *SGD) Update(params []float32, off int, grad []float32) {
	params = params[off : off+len(grad)]
	lr := float32(s.LR)
	head := 0
	if s.vector {
		head = len(grad) &^ 7
		if head > 0 {
			sgdSteps(&params[0], &grad[0], head, lr)
		}
	}
	for i := head; i < len(grad); i++ {
		params[i] -= lr * grad[i]
	}
}

// Adam is Kingma and Ba's optimiser with bias correction folded into the step size, as
// Keras computes it; with Nesterov set it is Nadam (Dozat's Nesterov-accelerated Adam).
type Adam struct {
	LR, Beta1, Beta2, Epsilon float64
	Nesterov                  bool
	m, v                      []float32
	t                         int
	vector                    bool       // eight parameters at a time (AVX2), same bits
	step                      adamConsts // the factors of step t, set by Begin
}

// adamConsts are one step's factors, laid out as the vector loop reads them. Adam and
// Nadam share the update p −= lr·(ms·m + gs·g) / (√(v·vs) + eps): Adam's ms and vs are 1
// and gs is 0, which leaves its terms' values (and roundings) as they are.
type adamConsts struct {
	b1, oneMinusB1, b2, oneMinusB2 float32
	ms, gs, vs, eps, lr            float32
}

// consts folds step t's bias corrections into the factors.
func (a *Adam) consts() adamConsts {
	t := float64(a.t)
	c1 := 1 - math.Pow(a.Beta1, t)
	c2 := 1 - math.Pow(a.Beta2, t)
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	k := adamConsts{b1: b1, oneMinusB1: 1 - b1, b2: b2, oneMinusB2: 1 - b2}
	if !a.Nesterov {
		// Keras adds epsilon to the bias-corrected root: eps·√c2 here.
		k.ms, k.gs, k.vs = 1, 0, 1
		k.eps = float32(a.Epsilon) * float32(math.Sqrt(c2))
		k.lr = float32(a.LR * math.Sqrt(c2) / c1)
		return k
	}
	c1next := 1 - math.Pow(a.Beta1, t+1)
	k.ms, k.gs, k.vs = float32(a.Beta1/c1next), float32((1-a.Beta1)/c1), float32(1/c2)
	k.eps, k.lr = float32(a.Epsilon), float32(a.LR)
	return k
}

// Step implements Optimizer: one pass over the parameters updates m, v and the weights.
func (a *Adam) Step(params, grad []float32) {
	a.Begin()
	a.Update(params, 0, grad)
}

// Begin implements Optimizer: the step count and its bias corrections.
func (a *Adam) Begin() {
	a.t++
	a.step = a.consts()
}

// Update implements Optimizer.
func (a *Adam) Update(params []float32, off int, grad []float32) {
	k := &a.step
	params = params[off : off+len(grad)]
	m, v := a.m[off:off+len(grad)], a.v[off:off+len(grad)]
	head := 0
	if a.vector {
		head = len(grad) &^ 7
		if head > 0 {
			adamSteps(&params[0], &grad[0], &m[0], &v[0], head, k)
		}
	}
	for i := head; i < len(grad); i++ {
		g := grad[i]
		mi := k.b1*m[i] + k.oneMinusB1*g
		vi := k.b2*v[i] + k.oneMinusB2*g*g
		m[i], v[i] = mi, vi
		params[i] -= k.lr * (k.ms*mi + k.gs*g) / (float32(math.Sqrt(float64(vi*k.vs))) + k.eps)
	}
}
