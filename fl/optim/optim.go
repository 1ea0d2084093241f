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
}

// New returns an optimiser by name: adam, nadam or sgd.
func New(name string, lr float64, size int) (Optimizer, error) {
	switch name {
	case "adam":
		return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, m: make([]float32, size), v: make([]float32, size)}, nil
	case "nadam":
		return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, Nesterov: true, m: make([]float32, size), v: make([]float32, size)}, nil
	case "sgd":
		return &SGD{LR: lr}, nil
	}
	return nil, fmt.Errorf("optim: unknown optimiser %q (want adam, nadam or sgd)", name)
}

// SGD is plain gradient descent.
type SGD struct{ LR float64 }

// Step implements Optimizer.
func (s *SGD) Step(params, grad []float32) {
	lr := float32(s.LR)
	for i, g := range grad {
		params[i] -= lr * g
	}
}

// Adam is Kingma and Ba's optimiser with bias correction folded into the step size, as
// Keras computes it; with Nesterov set it is Nadam (Dozat's Nesterov-accelerated Adam).
type Adam struct {
	LR, Beta1, Beta2, Epsilon float64
	Nesterov                  bool
	m, v                      []float32
	t                         int
}

// Step implements Optimizer.
func (a *Adam) Step(params, grad []float32) {
	a.t++
	t := float64(a.t)
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	c1 := 1 - math.Pow(a.Beta1, t)
	c2 := 1 - math.Pow(a.Beta2, t)
	eps := float32(a.Epsilon)
	m, v := a.m[:len(grad)], a.v[:len(grad)]
	if !a.Nesterov {
		step := float32(a.LR * math.Sqrt(c2) / c1)
		// Keras adds epsilon to the bias-corrected root: eps * sqrt(c2) here.
		epsHat := eps * float32(math.Sqrt(c2))
		for i, g := range grad {
			mi := b1*m[i] + (1-b1)*g
			vi := b2*v[i] + (1-b2)*g*g
			m[i], v[i] = mi, vi
			params[i] -= step * mi / (float32(math.Sqrt(float64(vi))) + epsHat)
		}
		return
	}
	c1next := 1 - math.Pow(a.Beta1, t+1)
	mScale := float32(a.Beta1 / c1next)
	gScale := float32((1 - a.Beta1) / c1)
	lr := float32(a.LR)
	vScale := float32(1 / c2)
	for i, g := range grad {
		mi := b1*m[i] + (1-b1)*g
		vi := b2*v[i] + (1-b2)*g*g
		m[i], v[i] = mi, vi
		mHat := mScale*mi + gScale*g
		params[i] -= lr * mHat / (float32(math.Sqrt(float64(vi*vScale))) + eps)
	}
}
