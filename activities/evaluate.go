package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/mclr"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/weights"
)

// evalBatch is the evaluation batch: large enough to amortise graph runs, small enough
// to keep the activations of the CNN in memory.
const evalBatch = 500

// Evaluate scores a global version and records the score with it: on MNIST's test set
// (its loss and accuracy), or on a synthetic dataset as the FedProx paper scores it
// (the sample-weighted training loss of every device, the test accuracy over all).
func (a *Activities) Evaluate(ctx context.Context, in EvaluateInput) (EvaluateResult, error) {
	start := time.Now()
	g, err := a.deps.Store.GetGlobal(ctx, in.Experiment, in.Version)
	if err != nil {
		return EvaluateResult{}, err
	}
	ev, err := a.scorer(ctx, in)
	if err != nil {
		return EvaluateResult{}, err
	}
	stop := heartbeatWhile(ctx, in.Version)
	loss, accuracy, err := ev.score(ctx, g.Params)
	stop()
	if err != nil {
		return EvaluateResult{}, fmt.Errorf("evaluate v%d: %w", in.Version, err)
	}
	if err := a.deps.Store.SetMetrics(ctx, in.Experiment, in.Version, weights.Evaluated{Loss: loss, Accuracy: accuracy}); err != nil {
		return EvaluateResult{}, err
	}
	seconds := time.Since(start).Seconds()
	a.deps.Metrics.Evaluated(seconds, accuracy, loss)
	return EvaluateResult{Loss: loss, Accuracy: accuracy, Seconds: seconds}, nil
}

// scorer scores global versions on an experiment's evaluation data; close releases it.
type scorer interface {
	score(ctx context.Context, params []float32) (loss, accuracy float64, err error)
	close()
}

// evalKey names a scorer: the model, and the synthetic dataset (zero for MNIST).
type evalKey struct {
	model     model.Spec
	synthetic synthetic.Spec
}

// mnistScorer is a compiled model over MNIST's test set.
type mnistScorer struct{ ev *model.Evaluator }

func (m mnistScorer) score(ctx context.Context, params []float32) (float64, float64, error) {
	r, err := m.ev.Evaluate(ctx, params)
	return r.Loss, r.Accuracy, err
}

func (m mnistScorer) close() { m.ev.Close() }

// syntheticScorer is the pooled devices of a synthetic dataset.
type syntheticScorer struct{ ev *mclr.Evaluator }

func (s syntheticScorer) score(ctx context.Context, params []float32) (float64, float64, error) {
	r, err := s.ev.Evaluate(ctx, params)
	return r.Loss, r.Accuracy, err
}

func (s syntheticScorer) close() {}

// scorer finds or makes the scorer of an evaluation: the test set is loaded (or the
// synthetic devices generated) once per worker.
func (a *Activities) scorer(ctx context.Context, in EvaluateInput) (scorer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := evalKey{in.Model, in.Synthetic}
	if ev, ok := a.evaluators[key]; ok {
		return ev, nil
	}
	ev, err := a.newScorer(ctx, in)
	if err != nil {
		return nil, err
	}
	a.evaluators[key] = ev
	return ev, nil
}

func (a *Activities) newScorer(ctx context.Context, in EvaluateInput) (scorer, error) {
	if in.Synthetic.On() {
		if in.Model.Kind != model.MCLR {
			return nil, badConfig("synthetic data are scored with mclr, not %s", in.Model.Kind)
		}
		ev, err := mclr.NewEvaluator(in.Synthetic)
		if err != nil {
			return nil, badConfig("%v", err)
		}
		return syntheticScorer{ev}, nil
	}
	if a.test == nil {
		test, err := mnist.Load(ctx, a.deps.TestData)
		if err != nil {
			return nil, badConfig("load the test set: %v", err)
		}
		a.test = test
	}
	ev, err := model.NewEvaluator(in.Model, a.test.Images, a.test.Labels, evalBatch)
	if err != nil {
		return nil, badConfig("%v", err)
	}
	return mnistScorer{ev}, nil
}
