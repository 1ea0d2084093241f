package model

import (
	"context"
	"math"
	"runtime"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
)

func loadMNIST(t testing.TB) (train, test *mnist.Dataset) {
	t.Helper()
	trainSrc, testSrc, err := mnist.DefaultSources()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if train, err = mnist.Load(ctx, trainSrc); err != nil {
		t.Fatal(err)
	}
	if test, err = mnist.Load(ctx, testSrc); err != nil {
		t.Fatal(err)
	}
	return train, test
}

func TestMLPTrainsAndIsDeterministic(t *testing.T) {
	train, test := loadMNIST(t)
	spec := Spec{Kind: MLP, Hidden: 500}
	m, _ := spec.Manifest()
	idx := make([]int, 600)
	for i := range idx {
		idx[i] = i * 97 % train.Len()
	}
	local := train.Subset(idx)
	ev, err := NewEvaluator(spec, test.Images[:2000*784], test.Labels[:2000], 500)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	ctx := context.Background()

	params := Init(m, 1)
	before, err := ev.Evaluate(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	opts := TrainOptions{Optimizer: "adam", LR: 1e-3, Epochs: 1, BatchSize: 10, Seed: 3}
	res, err := Train(ctx, spec, params, local.Images, local.Labels, opts)
	if err != nil {
		t.Fatal(err)
	}
	after, err := ev.Evaluate(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before %+v after %+v train %+v", before, after, res)
	if res.Samples != 600 {
		t.Errorf("trained on %d samples, want 600", res.Samples)
	}
	if after.Accuracy < 0.75 || after.Accuracy <= before.Accuracy+0.3 {
		t.Errorf("accuracy %.3f -> %.3f after one epoch on 600 examples", before.Accuracy, after.Accuracy)
	}
	if after.Loss >= before.Loss {
		t.Errorf("loss rose: %.3f -> %.3f", before.Loss, after.Loss)
	}

	again := Init(m, 1)
	if _, err := Train(ctx, spec, again, local.Images, local.Labels, opts); err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i] != params[i] {
			t.Fatalf("training is not reproducible: parameter %d differs", i)
		}
	}
}

func TestCNNStepAndTailBatch(t *testing.T) {
	train, _ := loadMNIST(t)
	spec := Spec{Kind: CNN}
	m, _ := spec.Manifest()
	params := Init(m, 2)
	orig := append([]float32(nil), params...)
	local := train.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	// 11 examples in batches of 4: two full batches and a tail of 3, twice, so each
	// machine runs again after a batch (a reused CNN machine once crashed there).
	res, err := Train(context.Background(), spec, params, local.Images, local.Labels,
		TrainOptions{Optimizer: "sgd", LR: 0.01, Epochs: 2, BatchSize: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Samples != 11 || !(res.Loss > 0) {
		t.Errorf("result %+v", res)
	}
	changed := 0
	for i := range params {
		if params[i] != orig[i] {
			changed++
		}
	}
	if changed < len(params)/2 {
		t.Errorf("only %d of %d parameters changed", changed, len(params))
	}
}

func TestCrossEntropyIsStable(t *testing.T) {
	// Rows far apart in scale: the first row's maximum is useless for the others, which
	// broke gorgonia's LogSoftMax.
	logits := []float32{90, 0, -5, -80, -200, -150, 1, 2, 3}
	labels := []int{0, 2, 1}
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 3), G.WithName("logits"),
		G.WithValue(tensor.New(tensor.WithShape(3, 3), tensor.WithBacking(logits))))
	oneHot := make([]float32, 9)
	for i, l := range labels {
		oneHot[i*3+l] = 1
	}
	y := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 3), G.WithName("y"),
		G.WithValue(tensor.New(tensor.WithShape(3, 3), tensor.WithBacking(oneHot))))
	cost, err := crossEntropy(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(cost, x); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(x))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	var want float64
	for i, l := range labels {
		loss, _ := crossEntropyLoss(logits[i*3:(i+1)*3], l)
		want += loss / 3
	}
	got := float64(cost.Value().Data().(float32))
	if math.IsNaN(got) || math.Abs(got-want) > 1e-3*math.Max(1, want) {
		t.Fatalf("loss %v, want %v", got, want)
	}
	grad, _ := x.Grad()
	for i, v := range grad.Data().([]float32) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("gradient %d is %v", i, v)
		}
	}
}

// syntheticExamples are n images of a fixed pattern with labels cycling through the
// classes: what training's cost does not depend on.
func syntheticExamples(n int) ([]float32, []uint8) {
	images, labels := make([]float32, n*inputSize), make([]uint8, n)
	for i := range images {
		images[i] = float32(i%255) / 255
	}
	for i := range labels {
		labels[i] = uint8(i % classes)
	}
	return images, labels
}

// benchmarkTrain is one epoch of spec over n synthetic examples, batch 10, SGD.
func benchmarkTrain(b *testing.B, spec Spec, n int) {
	manifest, _ := spec.Manifest()
	images, labels := syntheticExamples(n)
	params := Init(manifest, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := Train(context.Background(), spec, params, images, labels, TrainOptions{Optimizer: "sgd", LR: 0.01, Epochs: 1, BatchSize: 10, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkTrainMLP and BenchmarkTrainCNN are an epoch of each model
// (`go test -bench Train -benchmem ./fl/model`); make bench sets the same training
// beside PyTorch's.
func BenchmarkTrainMLP(b *testing.B) { benchmarkTrain(b, Spec{Kind: MLP, Hidden: 500}, 500) }

func BenchmarkTrainCNN(b *testing.B) { benchmarkTrain(b, Spec{Kind: CNN}, 100) }

// FedProx's proximal term holds a client near the model it started from: its first
// step (where w = w₀) is plain SGD's, and after an epoch it has moved less, by a margin
// that grows with μ.
func TestProximalTermKeepsTrainingNearTheStart(t *testing.T) {
	train, _ := loadMNIST(t)
	spec := Spec{Kind: MLP, Hidden: 32}
	m, _ := spec.Manifest()
	local := train.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19})
	start := Init(m, 4)
	moved := func(mu float64, n int) float64 {
		p := append([]float32(nil), start...)
		if _, err := Train(context.Background(), spec, p, local.Images[:n*784], local.Labels[:n],
			TrainOptions{Optimizer: "sgd", LR: 0.5, Epochs: 3, BatchSize: 10, Seed: 1, ProximalMu: mu}); err != nil {
			t.Fatal(err)
		}
		d := 0.0
		for i := range p {
			d += float64(p[i]-start[i]) * float64(p[i]-start[i])
		}
		return math.Sqrt(d)
	}
	// One batch, one epoch: a single step from w₀, where the term's gradient is zero.
	one := func(mu float64) []float32 {
		p := append([]float32(nil), start...)
		if _, err := Train(context.Background(), spec, p, local.Images[:10*784], local.Labels[:10],
			TrainOptions{Optimizer: "sgd", LR: 0.5, Epochs: 1, BatchSize: 10, Seed: 1, ProximalMu: mu}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := one(0), one(5)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("the first step differs at %d: %v vs %v", i, a[i], b[i])
		}
	}
	plain, weak, strong := moved(0, 20), moved(0.1, 20), moved(1, 20)
	if !(plain > weak && weak > strong) {
		t.Errorf("distance from the start: μ=0 %.4f, μ=0.1 %.4f, μ=1 %.4f; want decreasing", plain, weak, strong)
	}
}

// Training's allocations per step stay flat: after the graphs are built, a batch
// allocates a few small bookkeeping values in gorgonia's machine, never a tensor of
// the model's size (the CNN's gorgonia layers once allocated 15 MB a step, the MLP's
// machine 2 MB before it kept its values). Measured as the difference between an
// epoch of 20 batches and one of 10, so the graphs' construction cancels out.
func TestTrainingAllocationPerStepIsFlat(t *testing.T) {
	const perStepLimit = 64 << 10
	for _, spec := range []Spec{{Kind: MLP, Hidden: 500}, {Kind: CNN}} {
		t.Run(string(spec.Kind), func(t *testing.T) {
			m, _ := spec.Manifest()
			epoch := func(batches int) uint64 {
				images, labels := syntheticExamples(batches * 10)
				params := Init(m, 1)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				if _, err := Train(context.Background(), spec, params, images, labels, TrainOptions{Optimizer: "adam", LR: 1e-3, Epochs: 1, BatchSize: 10, Seed: 1}); err != nil {
					t.Fatal(err)
				}
				runtime.ReadMemStats(&after)
				return after.TotalAlloc - before.TotalAlloc
			}
			epoch(1) // the first graph of a kind also builds gorgonia's caches
			short, long := epoch(10), epoch(20)
			perStep := (int64(long) - int64(short)) / 10
			t.Logf("%s: %d bytes a step (%d for 10 batches, %d for 20)", spec.Kind, perStep, short, long)
			if perStep > perStepLimit {
				t.Fatalf("%s allocates %d bytes a step, want at most %d", spec.Kind, perStep, perStepLimit)
			}
		})
	}
}

// A Trainer that keeps its graphs trains each call to the same bits as a fresh Train,
// whatever it trained before: other weights, other examples, another optimiser.
func TestTrainerReusesItsGraphsWithoutCarryingState(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		spec Spec
		n    int
	}{
		{"MLP", Spec{Kind: MLP, Hidden: 8}, 25},
		{"CNN", Spec{Kind: CNN}, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifest, err := tc.spec.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			images, labels := syntheticExamples(tc.n)
			otherImages, otherLabels := syntheticExamples(tc.n)
			for i := range otherLabels {
				otherLabels[i] = uint8((i * 7) % classes)
			}
			calls := []struct {
				seed   uint64
				images []float32
				labels []uint8
				opts   TrainOptions
			}{
				{1, images, labels, TrainOptions{Optimizer: "adam", LR: 0.01, Epochs: 2, BatchSize: 10, Seed: 1}},
				{2, otherImages, otherLabels, TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: 10, Seed: 2, ProximalMu: 0.1}},
				{3, images, labels, TrainOptions{Optimizer: "adam", LR: 0.01, Epochs: 2, BatchSize: 10, Seed: 3}},
			}
			var kept Trainer
			defer kept.Close()
			for i, c := range calls {
				fresh := Init(manifest, c.seed)
				reused := slices.Clone(fresh)
				want, err := Train(ctx, tc.spec, fresh, c.images, c.labels, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := kept.Train(ctx, tc.spec, reused, c.images, c.labels, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				if got != want || !slices.Equal(reused, fresh) {
					t.Fatalf("call %d: kept graphs trained to loss %v, fresh ones %v (weights equal: %v)", i, got.Loss, want.Loss, slices.Equal(reused, fresh))
				}
			}
			if kept.kept == nil {
				t.Fatal("the trainer kept no graphs")
			}
		})
	}
}
