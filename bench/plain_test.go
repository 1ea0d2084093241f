package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
)

// The baselines must train the very networks FedKeeper trains, or the ratios mean
// nothing: same seed, same data, same optimiser steps, same parameters after.
func TestPlainNetworksTrainLikeTheModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 23 // two batches of 10 and a last, smaller one
	images := make([]float32, n*mnist.Pixels)
	for i := range images {
		images[i] = rng.Float32()
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(rng.IntN(classes))
	}
	const hidden = 16
	for _, tc := range []struct {
		name  string
		spec  model.Spec
		plain func(params []float32, optimizer string) (float64, error)
		// The CNN sums 800 products per output in float32, in another order than
		// gorgonia, so its parameters drift further apart than the MLP's, and further
		// under Adam, whose steps have the learning rate's size however small the
		// gradient: a parameter with a gradient near zero moves on rounding noise.
		tolerance map[string]float64
	}{
		{"mlp", model.Spec{Kind: model.MLP, Hidden: hidden}, func(p []float32, o string) (float64, error) {
			return trainPlainMLP(hidden, p, images, labels, o, 0.01, 2, 10, 5)
		}, map[string]float64{"sgd": 1e-4, "adam": 1e-4}},
		{"cnn", model.Spec{Kind: model.CNN}, func(p []float32, o string) (float64, error) {
			return trainPlainCNN(p, images, labels, o, 0.01, 2, 10, 5)
		}, map[string]float64{"sgd": 1e-3, "adam": 3e-3}},
	} {
		manifest, err := tc.spec.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, optimizer := range []string{"sgd", "adam"} {
			t.Run(tc.name+"/"+optimizer, func(t *testing.T) {
				want := model.Init(manifest, 7)
				got := append([]float32(nil), want...)
				res, err := model.Train(context.Background(), tc.spec, want, images, labels,
					model.TrainOptions{Optimizer: optimizer, LR: 0.01, Epochs: 2, BatchSize: 10, Seed: 5})
				if err != nil {
					t.Fatal(err)
				}
				loss, err := tc.plain(got, optimizer)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(loss-res.Loss) > 1e-4*math.Max(1, res.Loss) {
					t.Errorf("loss %v, model %v", loss, res.Loss)
				}
				worst, moved := 0.0, 0.0
				start := model.Init(manifest, 7)
				for i := range want {
					worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
					moved = math.Max(moved, math.Abs(float64(want[i]-start[i])))
				}
				if worst > tc.tolerance[optimizer] {
					t.Errorf("parameters differ from the model's by up to %g", worst)
				}
				// Training moved the parameters far more than the two differ.
				if moved < 10*worst || moved == 0 {
					t.Errorf("training moved the parameters by up to %g only, against a difference of %g", moved, worst)
				}
			})
		}
	}
}
