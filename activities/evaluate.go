package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/weights"
)

// evalBatch is the evaluation batch: large enough to amortise graph runs, small enough
// to keep the activations of the CNN in memory.
const evalBatch = 500

// Evaluate scores a global version on the test set and records the score with it.
func (a *Activities) Evaluate(ctx context.Context, in EvaluateInput) (EvaluateResult, error) {
	start := time.Now()
	g, err := a.deps.Store.GetGlobal(ctx, in.Experiment, in.Version)
	if err != nil {
		return EvaluateResult{}, err
	}
	ev, err := a.evaluator(ctx, in.Model)
	if err != nil {
		return EvaluateResult{}, err
	}
	stop := heartbeatWhile(ctx, in.Version)
	m, err := ev.Evaluate(ctx, g.Params)
	stop()
	if err != nil {
		return EvaluateResult{}, fmt.Errorf("evaluate v%d: %w", in.Version, err)
	}
	if err := a.deps.Store.SetMetrics(ctx, in.Experiment, in.Version, weights.Evaluated{Loss: m.Loss, Accuracy: m.Accuracy}); err != nil {
		return EvaluateResult{}, err
	}
	seconds := time.Since(start).Seconds()
	a.deps.Metrics.Evaluated(seconds, m.Accuracy, m.Loss)
	return EvaluateResult{Loss: m.Loss, Accuracy: m.Accuracy, Seconds: seconds}, nil
}

// evaluator loads the test set once per worker and keeps one compiled model per spec.
func (a *Activities) evaluator(ctx context.Context, spec model.Spec) (*model.Evaluator, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ev, ok := a.evaluators[spec]; ok {
		return ev, nil
	}
	if a.test == nil {
		test, err := mnist.Load(ctx, a.deps.TestData)
		if err != nil {
			return nil, badConfig("load the test set: %v", err)
		}
		a.test = test
	}
	ev, err := model.NewEvaluator(spec, a.test.Images, a.test.Labels, evalBatch)
	if err != nil {
		return nil, badConfig("%v", err)
	}
	a.evaluators[spec] = ev
	return ev, nil
}
