package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
)

// Training measures a client's MLP training throughput in samples per second (one
// epoch, SGD) against the plain gonum network on the same data and batches.
func Training(ctx context.Context, data *mnist.Dataset, hidden, samples, batch int) (Result, error) {
	spec := model.Spec{Kind: model.MLP, Hidden: hidden}
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
	if _, err := trainPlain(hidden, params, images, labels, "sgd", 0.1, 1, batch, 1); err != nil {
		return Result{}, err
	}
	plain := float64(samples) / time.Since(start).Seconds()
	r := Result{Name: fmt.Sprintf("MLP training (%d hidden, batch %d, SGD)", hidden, batch), Value: ours, Baseline: plain,
		Unit: "samples/s", BaselineName: "the same network on gonum blas32", Target: "within 1.5× of the baseline"}
	r.Met = Met(r.Ratio() <= 1.5)
	return r, nil
}
