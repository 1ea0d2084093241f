package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/optim"
)

// TrainOptions are a client's training settings (see arch.TrainOptions).
type TrainOptions = arch.TrainOptions

// TrainResult summarises a local training run.
type TrainResult struct {
	Samples int `json:"samples"`
	// Loss is the mean training loss of the last epoch.
	Loss float64 `json:"loss"`
}

// Train runs local training on params in place: Epochs passes over the examples in a
// fresh random order, one optimiser step per batch, a fresh optimiser (as the seed
// compiled a fresh Keras model for every invocation). images holds len(labels)*784
// pixels. The graphs are built once and reused for every batch.
func Train(ctx context.Context, spec Spec, params []float32, images []float32, labels []uint8, opts TrainOptions) (TrainResult, error) {
	manifest, err := spec.Manifest()
	if err != nil {
		return TrainResult{}, err
	}
	n := len(labels)
	if n == 0 {
		return TrainResult{}, fmt.Errorf("model: no training examples")
	}
	if len(images) != n*inputSize {
		return TrainResult{}, fmt.Errorf("model: %d pixel values for %d examples", len(images), n)
	}
	if opts.Epochs < 1 || opts.BatchSize < 1 {
		return TrainResult{}, fmt.Errorf("model: epochs and batch size must be positive, got %d and %d", opts.Epochs, opts.BatchSize)
	}
	opt, err := optim.New(opts.Optimizer, opts.LR, len(params))
	if err != nil {
		return TrainResult{}, err
	}
	batch := min(opts.BatchSize, n)
	full, err := newNet(spec, manifest, params, batch, true)
	if err != nil {
		return TrainResult{}, err
	}
	defer full.close()
	// A last, smaller batch gets its own graph, as Keras trains on it too.
	var tail *net
	if rest := n % batch; rest != 0 {
		if tail, err = newNet(spec, manifest, params, rest, true); err != nil {
			return TrainResult{}, err
		}
		defer tail.close()
	}

	var anchor []float32 // w₀ of the proximal term
	if opts.ProximalMu > 0 {
		anchor = append([]float32(nil), params...)
	}
	mu := float32(opts.ProximalMu)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7a1e))
	var epochLoss float64
	for epoch := 0; epoch < opts.Epochs; epoch++ {
		order := rng.Perm(n)
		epochLoss = 0
		for start := 0; start < n; start += batch {
			if err := ctx.Err(); err != nil {
				return TrainResult{}, fmt.Errorf("model: training stopped: %w", err)
			}
			end := min(start+batch, n)
			g := full
			if end-start != batch {
				g = tail
			}
			g.load(images, labels, order[start:end])
			if err := g.run(); err != nil {
				return TrainResult{}, fmt.Errorf("model: training step: %w", err)
			}
			loss := g.lossValue()
			if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
				return TrainResult{}, fmt.Errorf("model: training diverged (loss %v in epoch %d)", loss, epoch+1)
			}
			epochLoss += float64(loss) * float64(end-start)
			if err := g.step(opt, params, anchor, mu); err != nil {
				return TrainResult{}, err
			}
		}
	}
	return TrainResult{Samples: n, Loss: epochLoss / float64(n)}, nil
}

// step applies the optimiser to the last batch's gradients, one parameter tensor at a
// time where the machine left them. With an anchor w₀ it first adds the proximal term's
// gradient, μ·(w − w₀).
func (n *net) step(opt optim.Optimizer, params, anchor []float32, mu float32) error {
	opt.Begin()
	off := 0
	for i := range n.grads {
		grad, err := n.gradientOf(i)
		if err != nil {
			return err
		}
		if anchor != nil {
			w, w0 := params[off:off+len(grad)], anchor[off:off+len(grad)]
			for j := range grad {
				grad[j] += mu * (w[j] - w0[j])
			}
		}
		opt.Update(params, off, grad)
		off += len(grad)
	}
	return nil
}
