package model

import (
	"context"
	"fmt"
	"math"
	"sync"
)

// Metrics is a model's quality on a dataset.
type Metrics struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
}

// Evaluator scores parameter vectors on a fixed test set. It keeps its compiled graphs
// between calls; calls are serialised.
type Evaluator struct {
	mu       sync.Mutex
	spec     Spec
	manifest []Param
	params   []float32
	images   []float32
	labels   []uint8
	nets     map[int]*net
	batch    int
}

// NewEvaluator prepares scoring of spec on images/labels in batches of batch examples.
func NewEvaluator(spec Spec, images []float32, labels []uint8, batch int) (*Evaluator, error) {
	manifest, err := spec.Manifest()
	if err != nil {
		return nil, err
	}
	if len(labels) == 0 || len(images) != len(labels)*inputSize {
		return nil, fmt.Errorf("model: test set has %d labels and %d pixel values", len(labels), len(images))
	}
	if batch < 1 {
		return nil, fmt.Errorf("model: evaluation batch must be positive, got %d", batch)
	}
	return &Evaluator{
		spec: spec, manifest: manifest, params: make([]float32, NumParams(manifest)),
		images: images, labels: labels, nets: map[int]*net{}, batch: batch,
	}, nil
}

// Evaluate returns the mean cross-entropy and the accuracy of params on the test set.
func (e *Evaluator) Evaluate(ctx context.Context, params []float32) (Metrics, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(params) != len(e.params) {
		return Metrics{}, fmt.Errorf("model: %d parameters given, %s needs %d", len(params), e.spec.Kind, len(e.params))
	}
	copy(e.params, params)
	n := len(e.labels)
	order := make([]int, 0, e.batch)
	var lossSum float64
	correct := 0
	for start := 0; start < n; start += e.batch {
		if err := ctx.Err(); err != nil {
			return Metrics{}, fmt.Errorf("model: evaluation stopped: %w", err)
		}
		end := min(start+e.batch, n)
		g, err := e.netFor(end - start)
		if err != nil {
			return Metrics{}, err
		}
		order = order[:0]
		for i := start; i < end; i++ {
			order = append(order, i)
		}
		g.load(e.images, e.labels, order)
		if err := g.run(); err != nil {
			return Metrics{}, fmt.Errorf("model: evaluation step: %w", err)
		}
		logits := g.logitValues()
		for i, idx := range order {
			row := logits[i*classes : (i+1)*classes]
			loss, best := crossEntropyLoss(row, int(e.labels[idx]))
			lossSum += loss
			if best == int(e.labels[idx]) {
				correct++
			}
		}
	}
	return Metrics{Loss: lossSum / float64(n), Accuracy: float64(correct) / float64(n)}, nil
}

func (e *Evaluator) netFor(batch int) (*net, error) {
	if g, ok := e.nets[batch]; ok {
		return g, nil
	}
	g, err := newNet(e.spec, e.manifest, e.params, batch, false)
	if err != nil {
		return nil, err
	}
	e.nets[batch] = g
	return g, nil
}

// Close releases the compiled graphs.
func (e *Evaluator) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, g := range e.nets {
		g.close()
	}
	e.nets = map[int]*net{}
}

// crossEntropyLoss returns -log softmax(row)[label] and the arg-max of row, computed in
// float64 with the max subtracted so large logits cannot overflow.
func crossEntropyLoss(row []float32, label int) (float64, int) {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	maxV := float64(row[best])
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v) - maxV)
	}
	return math.Log(sum) - (float64(row[label]) - maxV), best
}
