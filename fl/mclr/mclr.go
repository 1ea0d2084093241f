// Package mclr trains and scores the FedProx paper's model of its synthetic data:
// multinomial logistic regression, softmax(x·W + b) over 60 features and 10 classes,
// with cross-entropy loss. It is plain Go over the flat float32 vector of the mclr
// layout (arch.MCLR: the kernel W, 60×10 row-major, then the bias b), the vector
// federated averaging works on; a model this small needs no training library.
package mclr

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/optim"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

const (
	features = synthetic.Features
	classes  = synthetic.Classes
	// NumParams is the length of the mclr vector.
	NumParams = features*classes + classes
	// shuffleStream is the second word of the shuffling PCG's seed, as the other
	// models' training uses it, so every client shuffles alike from a task's seed.
	shuffleStream = 0x7a1e
)

// Result summarises a local training run.
type Result struct {
	Samples int `json:"samples"`
	// Loss is the mean training loss of the last epoch (the proximal term left out).
	Loss float64 `json:"loss"`
}

// check refuses vectors and data of the wrong shape.
func check(params, x []float32, labels []uint8) error {
	if len(params) != NumParams {
		return fmt.Errorf("mclr: %d parameters, the model has %d", len(params), NumParams)
	}
	if len(labels) == 0 {
		return fmt.Errorf("mclr: no examples")
	}
	if len(x) != len(labels)*features {
		return fmt.Errorf("mclr: %d feature values for %d examples of %d features", len(x), len(labels), features)
	}
	for i, l := range labels {
		if int(l) >= classes {
			return fmt.Errorf("mclr: label %d of example %d is not one of the %d classes", l, i, classes)
		}
	}
	return nil
}

// Train runs local training on params in place: Epochs passes over the examples in a
// fresh random order (PCG seeded by opts.Seed), one optimiser step per batch of
// BatchSize (the last one smaller), with a fresh optimiser. With ProximalMu set each
// step adds FedProx's μ·(w − w₀) to the gradient, w₀ the vector training started from:
// with SGD, w ← w − lr·(∇F(w) + μ(w − w₀)), FedProx's local step.
func Train(ctx context.Context, params, x []float32, labels []uint8, opts arch.TrainOptions) (Result, error) {
	if err := check(params, x, labels); err != nil {
		return Result{}, err
	}
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return Result{}, fmt.Errorf("mclr: epochs and batch size must be positive, got %d and %d", opts.Epochs, opts.BatchSize)
	}
	opt, err := optim.New(opts.Optimizer, opts.LR, NumParams)
	if err != nil {
		return Result{}, err
	}
	t := newTrainer(params, opts.ProximalMu)
	n := len(labels)
	rng := rand.New(rand.NewPCG(opts.Seed, shuffleStream))
	var epochLoss float64
	for epoch := range opts.Epochs {
		order := rng.Perm(n)
		epochLoss = 0
		for start := 0; start < n; start += opts.BatchSize {
			if err := ctx.Err(); err != nil {
				return Result{}, fmt.Errorf("mclr: training stopped: %w", err)
			}
			batch := order[start:min(start+opts.BatchSize, n)]
			loss := t.step(opt, params, x, labels, batch)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return Result{}, fmt.Errorf("mclr: training diverged (loss %v in epoch %d)", loss, epoch+1)
			}
			epochLoss += loss * float64(len(batch))
		}
	}
	return Result{Samples: n, Loss: epochLoss / float64(n)}, nil
}

// trainer holds a training run's buffers and its proximal anchor.
type trainer struct {
	grad   []float64
	grad32 []float32
	anchor []float32 // w₀, nil without a proximal term
	mu     float64
}

func newTrainer(params []float32, mu float64) *trainer {
	t := &trainer{grad: make([]float64, NumParams), grad32: make([]float32, NumParams), mu: mu}
	if mu > 0 {
		t.anchor = append([]float32(nil), params...)
	}
	return t
}

// step makes one optimiser step on a batch and returns the batch's mean loss.
func (t *trainer) step(opt optim.Optimizer, params, x []float32, labels []uint8, batch []int) float64 {
	loss := Gradient(params, x, labels, batch, t.grad)
	for i, g := range t.grad {
		if t.anchor != nil {
			g += t.mu * float64(params[i]-t.anchor[i])
		}
		t.grad32[i] = float32(g)
	}
	opt.Step(params, t.grad32)
	return loss
}

// Gradient writes into grad (NumParams values) the gradient of the mean cross-entropy
// of the examples batch over, and returns that mean loss. The arithmetic is float64.
func Gradient(params, x []float32, labels []uint8, batch []int, grad []float64) float64 {
	clear(grad)
	w, b := params[:features*classes], params[features*classes:]
	gw, gb := grad[:features*classes], grad[features*classes:]
	var loss float64
	var p [classes]float64
	scale := 1 / float64(len(batch))
	for _, i := range batch {
		row := x[i*features : (i+1)*features]
		loss += probabilities(w, b, row, &p, int(labels[i]))
		// d(−log p_y)/d logit_c = p_c − [c = y].
		p[labels[i]]--
		for j, xj := range row {
			g := gw[j*classes : (j+1)*classes]
			for c := range p {
				g[c] += scale * p[c] * float64(xj)
			}
		}
		for c := range p {
			gb[c] += scale * p[c]
		}
	}
	return loss * scale
}

// probabilities puts softmax(x·W + b) into p and returns −log p[label], computed with
// the largest logit subtracted so no exponential overflows.
func probabilities(w, b, x []float32, p *[classes]float64, label int) float64 {
	for c := range p {
		p[c] = float64(b[c])
	}
	for j, xj := range x {
		row := w[j*classes : (j+1)*classes]
		for c := range p {
			p[c] += float64(xj) * float64(row[c])
		}
	}
	top := p[0]
	for _, v := range p[1:] {
		top = max(top, v)
	}
	var sum float64
	for c := range p {
		p[c] = math.Exp(p[c] - top)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
	return -math.Log(max(p[label], math.SmallestNonzeroFloat64))
}

// Metrics is the model's quality on a set of examples.
type Metrics struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
}

// Score returns the mean cross-entropy and the accuracy of params on the examples (the
// first class wins a tie of probabilities).
func Score(ctx context.Context, params, x []float32, labels []uint8) (Metrics, error) {
	if err := check(params, x, labels); err != nil {
		return Metrics{}, err
	}
	w, b := params[:features*classes], params[features*classes:]
	var p [classes]float64
	var loss float64
	correct := 0
	for i := range labels {
		if i%4096 == 0 && ctx.Err() != nil {
			return Metrics{}, fmt.Errorf("mclr: scoring stopped: %w", ctx.Err())
		}
		loss += probabilities(w, b, x[i*features:(i+1)*features], &p, int(labels[i]))
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		if best == int(labels[i]) {
			correct++
		}
	}
	n := float64(len(labels))
	return Metrics{Loss: loss / n, Accuracy: float64(correct) / n}, nil
}
