package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
)

// Training measures a client's training throughput in samples per second (one epoch,
// SGD, graph construction included, as a client pays it) against the plain gonum
// network of the same kind on the same data and batches. The MLP has the issue's
// target; the CNN is reported.
func Training(ctx context.Context, data *mnist.Dataset, spec model.Spec, samples, batch int) (Result, error) {
	manifest, err := spec.Manifest()
	if err != nil {
		return Result{}, err
	}
	samples = min(samples, data.Len())
	images, labels := data.Images[:samples*mnist.Pixels], data.Labels[:samples]
	params := model.Init(manifest, 1)
	start := time.Now()
	if _, err := model.Train(ctx, spec, params, images, labels, model.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: batch, Seed: 1}); err != nil {
		return Result{}, fmt.Errorf("bench: train: %w", err)
	}
	ours := float64(samples) / time.Since(start).Seconds()

	params = model.Init(manifest, 1)
	start = time.Now()
	var name string
	switch spec.Kind {
	case model.MLP:
		name = fmt.Sprintf("MLP training (%d hidden, batch %d, SGD)", spec.Hidden, batch)
		_, err = trainPlainMLP(spec.Hidden, params, images, labels, "sgd", 0.1, 1, batch, 1)
	case model.CNN:
		name = fmt.Sprintf("CNN training (batch %d, SGD)", batch)
		_, err = trainPlainCNN(params, images, labels, "sgd", 0.1, 1, batch, 1)
	default:
		return Result{}, fmt.Errorf("bench: no baseline for %q", spec.Kind)
	}
	if err != nil {
		return Result{}, err
	}
	plain := float64(samples) / time.Since(start).Seconds()
	r := Result{Name: name, Value: ours, Baseline: plain, Unit: "samples/s", BaselineName: "the same network on gonum blas32"}
	if spec.Kind == model.MLP {
		r.Target = "within 1.5× of the baseline"
		r.Met = Met(r.Ratio() <= 1.5)
	}
	return r, nil
}
