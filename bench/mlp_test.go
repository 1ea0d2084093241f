package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
)

// The baseline must train the very network FedKeeper trains, or the ratio means
// nothing: same seed, same data, same optimiser steps, same parameters after.
func TestPlainMLPTrainsLikeTheModel(t *testing.T) {
	const hidden, n = 16, 53 // a last, smaller batch too
	spec := model.Spec{Kind: model.MLP, Hidden: hidden}
	manifest, err := spec.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	images := make([]float32, n*mnist.Pixels)
	for i := range images {
		images[i] = rng.Float32()
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(rng.IntN(classes))
	}
	for _, optimizer := range []string{"sgd", "adam"} {
		t.Run(optimizer, func(t *testing.T) {
			want := model.Init(manifest, 7)
			got := append([]float32(nil), want...)
			res, err := model.Train(context.Background(), spec, want, images, labels,
				model.TrainOptions{Optimizer: optimizer, LR: 0.01, Epochs: 2, BatchSize: 10, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			loss, err := trainPlain(hidden, got, images, labels, optimizer, 0.01, 2, 10, 5)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(loss-res.Loss) > 1e-4*math.Max(1, res.Loss) {
				t.Errorf("loss %v, model %v", loss, res.Loss)
			}
			worst := 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 1e-4 {
				t.Errorf("parameters differ from the model's by up to %g", worst)
			}
		})
	}
}
