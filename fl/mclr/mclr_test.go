package mclr

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

func device(t *testing.T, spec synthetic.Spec, k int) synthetic.Device {
	t.Helper()
	g, err := synthetic.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Device(k)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func randomParams(seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := make([]float32, NumParams)
	for i := range p {
		p[i] = float32(rng.NormFloat64() * 0.3)
	}
	return p
}

func TestLayoutIsArchs(t *testing.T) {
	m, err := arch.Spec{Kind: arch.MCLR}.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if arch.NumParams(m) != NumParams || !slices.Equal(m[0].Shape, []int{60, 10}) || m[1].Name != "dense1/bias" {
		t.Errorf("manifest %v does not match the %d-value vector this package trains", m, NumParams)
	}
}

// The analytic gradient of the mean cross-entropy matches central finite differences.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	d := device(t, synthetic.Spec{Alpha: 1, Beta: 1, Devices: 3, Seed: 5}, 1)
	x, labels := d.Train.Features, d.Train.Labels
	batch := []int{0, 3, 4, 7, 9, 12, 20}
	params := randomParams(2)
	grad := make([]float64, NumParams)
	Gradient(params, x, labels, batch, grad)
	loss := func(p []float32) float64 {
		return Gradient(p, x, labels, batch, make([]float64, NumParams))
	}
	const h = 1e-2
	worst := 0.0
	for i := range params {
		p := slices.Clone(params)
		p[i] = params[i] + h
		up := loss(p)
		p[i] = params[i] - h
		down := loss(p)
		// The step actually taken, after rounding to float32.
		fd := (up - down) / (float64(params[i]+h) - float64(params[i]-h))
		if diff := math.Abs(fd - grad[i]); diff > worst {
			worst = diff
		}
		if math.Abs(fd-grad[i]) > 1e-3*(1+math.Abs(fd)) {
			t.Fatalf("parameter %d: gradient %.6f, finite differences %.6f", i, grad[i], fd)
		}
	}
	t.Logf("largest difference from finite differences: %.2g", worst)
}

// Two full-batch steps of SGD with μ are FedProx's local steps, computed by hand:
// w₁ = w₀ − lr·∇F(w₀), w₂ = w₁ − lr·(∇F(w₁) + μ(w₁ − w₀)).
func TestProximalStep(t *testing.T) {
	d := device(t, synthetic.Spec{Alpha: 1, Beta: 1, Devices: 3, Seed: 5}, 0)
	x, labels := d.Train.Features, d.Train.Labels
	all := make([]int, len(labels))
	for i := range all {
		all[i] = i
	}
	const lr, mu = 0.5, 3.0
	w0 := randomParams(9)
	g := make([]float64, NumParams)
	step := func(w []float32, prox bool) []float32 {
		Gradient(w, x, labels, all, g)
		out := make([]float32, len(w))
		for i := range w {
			gi := g[i]
			if prox {
				gi += mu * float64(w[i]-w0[i])
			}
			out[i] = w[i] - float32(lr)*float32(gi)
		}
		return out
	}
	want := step(step(w0, true), true)
	got := slices.Clone(w0)
	if _, err := Train(context.Background(), got, x, labels, arch.TrainOptions{Optimizer: "sgd", LR: lr, Epochs: 2, BatchSize: len(labels), ProximalMu: mu}); err != nil {
		t.Fatal(err)
	}
	plain := slices.Clone(w0)
	if _, err := Train(context.Background(), plain, x, labels, arch.TrainOptions{Optimizer: "sgd", LR: lr, Epochs: 2, BatchSize: len(labels)}); err != nil {
		t.Fatal(err)
	}
	moved := 0.0
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("parameter %d after two proximal steps: %v, by hand %v", i, got[i], want[i])
		}
		moved = max(moved, math.Abs(float64(got[i]-plain[i])))
	}
	if moved < 1e-3 {
		t.Errorf("μ = %v changed the parameters by %.2g at most: the proximal term is not applied", mu, moved)
	}
}

// The data's labels come from a logistic model, so the same model class learns them:
// an IID device's model is learnt to well above chance, and the loss falls.
func TestTrainLearns(t *testing.T) {
	d := device(t, synthetic.Spec{IID: true, Devices: 30, Seed: 1}, 27)
	if d.Train.Len() < 500 {
		t.Fatalf("device 27 has only %d training examples; pick a larger one", d.Train.Len())
	}
	params := make([]float32, NumParams)
	before, err := Score(context.Background(), params, d.Test.Features, d.Test.Labels)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Train(context.Background(), params, d.Train.Features, d.Train.Labels,
		arch.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 40, BatchSize: 10, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	after, err := Score(context.Background(), params, d.Test.Features, d.Test.Labels)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d examples: test accuracy %.3f → %.3f, loss %.3f → %.3f (training loss %.3f)",
		d.Train.Len(), before.Accuracy, after.Accuracy, before.Loss, after.Loss, res.Loss)
	if res.Samples != d.Train.Len() || after.Accuracy < 0.75 || after.Loss > before.Loss/2 {
		t.Errorf("after training: %+v, test %+v", res, after)
	}
}

func TestTrainIsSeeded(t *testing.T) {
	d := device(t, synthetic.Spec{Alpha: 1, Beta: 1, Devices: 3, Seed: 5}, 0)
	run := func(seed uint64) []float32 {
		p := make([]float32, NumParams)
		if _, err := Train(context.Background(), p, d.Train.Features, d.Train.Labels,
			arch.TrainOptions{Optimizer: "sgd", LR: 0.05, Epochs: 2, BatchSize: 4, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if a, b, c := run(1), run(1), run(2); !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("training is not a function of its seed")
	}
}

// Zero parameters give every class the same probability: the loss is ln 10 and the
// first class wins every example.
func TestScoreByHand(t *testing.T) {
	x := make([]float32, 4*features)
	labels := []uint8{0, 3, 0, 9}
	m, err := Score(context.Background(), make([]float32, NumParams), x, labels)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.Loss-math.Log(10)) > 1e-12 || m.Accuracy != 0.5 {
		t.Errorf("%+v, want loss ln 10 and accuracy 0.5", m)
	}
}

func TestRefusals(t *testing.T) {
	ok := arch.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: 2}
	x := make([]float32, 2*features)
	tests := []struct {
		name   string
		params []float32
		x      []float32
		labels []uint8
		opts   arch.TrainOptions
		want   string
	}{
		{"short vector", make([]float32, 600), x, []uint8{1, 2}, ok, "600 parameters"},
		{"no examples", make([]float32, NumParams), nil, nil, ok, "no examples"},
		{"ragged features", make([]float32, NumParams), x[:100], []uint8{1, 2}, ok, "100 feature values"},
		{"a label past the classes", make([]float32, NumParams), x, []uint8{1, 10}, ok, "label 10"},
		{"no epochs", make([]float32, NumParams), x, []uint8{1, 2}, arch.TrainOptions{Optimizer: "sgd", LR: 0.1, BatchSize: 2}, "epochs and batch size"},
		{"unknown optimiser", make([]float32, NumParams), x, []uint8{1, 2}, arch.TrainOptions{Optimizer: "lbfgs", LR: 0.1, Epochs: 1, BatchSize: 2}, "lbfgs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(context.Background(), tc.params, tc.x, tc.labels, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, make([]float32, NumParams), x, []uint8{1, 2}, ok); err == nil {
		t.Error("a cancelled context trained")
	}
}

// The evaluation pools every device: its loss is the sample-weighted training loss
// (the mean of the devices' losses weighted by their training sizes) and its accuracy
// the pooled test accuracy, both checked here device by device.
func TestEvaluatorPoolsEveryDevice(t *testing.T) {
	spec := synthetic.Spec{Alpha: 0.5, Beta: 0.5, Devices: 6, Seed: 2}
	ev, err := NewEvaluator(spec)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := synthetic.New(spec)
	params := randomParams(5)
	var lossSum, trainN, correct, testN float64
	for k := range spec.Devices {
		d, _ := g.Device(k)
		tr, _ := Score(context.Background(), params, d.Train.Features, d.Train.Labels)
		te, _ := Score(context.Background(), params, d.Test.Features, d.Test.Labels)
		lossSum += tr.Loss * float64(d.Train.Len())
		trainN += float64(d.Train.Len())
		correct += te.Accuracy * float64(d.Test.Len())
		testN += float64(d.Test.Len())
	}
	got, err := ev.Evaluate(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Loss-lossSum/trainN) > 1e-9 || math.Abs(got.Accuracy-correct/testN) > 1e-9 {
		t.Errorf("evaluation %+v; device by device: loss %.6f, accuracy %.6f", got, lossSum/trainN, correct/testN)
	}
	if tr, te := ev.Sizes(); float64(tr) != trainN || float64(te) != testN {
		t.Errorf("sizes %d, %d; want %v, %v", tr, te, trainN, testN)
	}
}
