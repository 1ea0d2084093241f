package mclr

import (
	"context"
	"fmt"

	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

// Evaluator scores global models on a synthetic dataset the way the FedProx paper
// does, every round on all devices: the loss is the training loss over every device's
// training examples, weighted by sample count (the mean over the pooled examples), and
// the accuracy is over every device's test examples pooled.
type Evaluator struct {
	train, test synthetic.Split
}

// NewEvaluator generates every device of spec and pools their parts.
func NewEvaluator(spec synthetic.Spec) (*Evaluator, error) {
	g, err := synthetic.New(spec)
	if err != nil {
		return nil, err
	}
	devices, err := g.All()
	if err != nil {
		return nil, err
	}
	e := &Evaluator{}
	for _, d := range devices {
		e.train.Features = append(e.train.Features, d.Train.Features...)
		e.train.Labels = append(e.train.Labels, d.Train.Labels...)
		e.test.Features = append(e.test.Features, d.Test.Features...)
		e.test.Labels = append(e.test.Labels, d.Test.Labels...)
	}
	if e.train.Len() == 0 || e.test.Len() == 0 {
		return nil, fmt.Errorf("mclr: %v holds %d training and %d test examples; both are needed", spec, e.train.Len(), e.test.Len())
	}
	return e, nil
}

// Evaluate returns the pooled training loss and the pooled test accuracy of params.
func (e *Evaluator) Evaluate(ctx context.Context, params []float32) (Metrics, error) {
	train, err := Score(ctx, params, e.train.Features, e.train.Labels)
	if err != nil {
		return Metrics{}, err
	}
	test, err := Score(ctx, params, e.test.Features, e.test.Labels)
	if err != nil {
		return Metrics{}, err
	}
	return Metrics{Loss: train.Loss, Accuracy: test.Accuracy}, nil
}

// Sizes are the pooled training and test examples.
func (e *Evaluator) Sizes() (train, test int) { return e.train.Len(), e.test.Len() }
