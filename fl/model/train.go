package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

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
	var t Trainer
	defer t.Close()
	return t.Train(ctx, spec, params, images, labels, opts)
}

// Trainer trains as Train does, keeping the graphs it built for its next call of the
// same model and batch sizes: a warm function serving many clients compiles them once
// (for a small model, compiling cost more than training). Each call copies params into
// the graphs' own weights and back, and starts a fresh optimiser, so a call's result is
// the same bits as Train's. The zero Trainer is ready; calls take turns.
type Trainer struct {
	mu   sync.Mutex
	kept *netSet
}

// netSet is the graphs of one model and batch size, on one weight vector they share.
type netSet struct {
	spec        Spec
	batch, rest int
	params      []float32
	full, tail  *net
}

func (s *netSet) close() {
	s.full.close()
	if s.tail != nil {
		s.tail.close()
	}
}

// Train is Train's training with the graphs this trainer keeps.
func (t *Trainer) Train(ctx context.Context, spec Spec, params []float32, images []float32, labels []uint8, opts TrainOptions) (TrainResult, error) {
	n := len(labels)
	switch {
	case n == 0:
		return TrainResult{}, fmt.Errorf("model: no training examples")
	case len(images) != n*inputSize:
		return TrainResult{}, fmt.Errorf("model: %d pixel values for %d examples", len(images), n)
	case opts.Epochs < 1 || opts.BatchSize < 1:
		return TrainResult{}, fmt.Errorf("model: epochs and batch size must be positive, got %d and %d", opts.Epochs, opts.BatchSize)
	}
	opt, err := optim.New(opts.Optimizer, opts.LR, len(params))
	if err != nil {
		return TrainResult{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	batch := min(opts.BatchSize, n)
	set, err := t.nets(spec, params, batch, n%batch)
	if err != nil {
		return TrainResult{}, err
	}
	copy(set.params, params)
	res, err := set.train(ctx, images, labels, opts, opt)
	if err != nil {
		// A failed run may leave a graph mid-step: the next call builds anew.
		set.close()
		t.kept = nil
		return TrainResult{}, err
	}
	copy(params, set.params)
	return res, nil
}

// nets returns the kept graphs if they fit, or builds (and keeps) new ones.
func (t *Trainer) nets(spec Spec, params []float32, batch, rest int) (*netSet, error) {
	if k := t.kept; k != nil && k.spec == spec && k.batch == batch && k.rest == rest && len(k.params) == len(params) {
		return k, nil
	}
	manifest, err := spec.Manifest()
	if err != nil {
		return nil, err
	}
	set := &netSet{spec: spec, batch: batch, rest: rest, params: make([]float32, len(params))}
	copy(set.params, params)
	if set.full, err = newNet(spec, manifest, set.params, batch, true); err != nil {
		return nil, err
	}
	// A last, smaller batch gets its own graph, as Keras trains on it too.
	if rest != 0 {
		if set.tail, err = newNet(spec, manifest, set.params, rest, true); err != nil {
			set.full.close()
			return nil, err
		}
	}
	if t.kept != nil {
		t.kept.close()
	}
	t.kept = set
	return set, nil
}

// Close releases the kept graphs.
func (t *Trainer) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.kept != nil {
		t.kept.close()
		t.kept = nil
	}
}

// train runs the epochs on the set's weights.
func (s *netSet) train(ctx context.Context, images []float32, labels []uint8, opts TrainOptions, opt optim.Optimizer) (TrainResult, error) {
	n := len(labels)
	var anchor []float32 // w₀ of the proximal term
	if opts.ProximalMu > 0 {
		anchor = append([]float32(nil), s.params...)
	}
	mu := float32(opts.ProximalMu)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7a1e))
	var epochLoss float64
	for epoch := 0; epoch < opts.Epochs; epoch++ {
		order := rng.Perm(n)
		epochLoss = 0
		for start := 0; start < n; start += s.batch {
			if err := ctx.Err(); err != nil {
				return TrainResult{}, fmt.Errorf("model: training stopped: %w", err)
			}
			end := min(start+s.batch, n)
			g := s.full
			if end-start != s.batch {
				g = s.tail
			}
			loss, err := g.batchStep(images, labels, order[start:end], opt, s.params, anchor, mu)
			if err != nil {
				return TrainResult{}, err
			}
			if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
				return TrainResult{}, fmt.Errorf("model: training diverged (loss %v in epoch %d)", loss, epoch+1)
			}
			epochLoss += float64(loss) * float64(end-start)
		}
	}
	return TrainResult{Samples: n, Loss: epochLoss / float64(n)}, nil
}

// batchStep trains on one batch: forward, backward and, unless the loss is not
// finite, the optimiser's step. It returns the batch's loss.
func (n *net) batchStep(images []float32, labels []uint8, order []int, opt optim.Optimizer, params, anchor []float32, mu float32) (float32, error) {
	n.load(images, labels, order)
	if err := n.run(); err != nil {
		return 0, fmt.Errorf("model: training step: %w", err)
	}
	loss := n.lossValue()
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return loss, nil
	}
	return loss, n.step(opt, params, anchor, mu)
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
