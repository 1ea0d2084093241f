package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
)

// trainingPasses is how many passes each side makes; the fastest of each is reported,
// since load from the rest of the machine only ever slows a pass down.
const trainingPasses = 5

// Training measures a client's training throughput in samples per second (one epoch,
// SGD, the graph built as a client builds it) against PyTorch training the same model
// on the same examples. Both run on one thread, and their passes alternate, so each
// meets the same load; the plain gonum network of the same kind is measured in the same
// rounds and reported in the note. Without torch the figure is reported against gonum
// and says so.
func Training(ctx context.Context, data *mnist.Dataset, spec model.Spec, samples, batch int, torch Torch) (Result, error) {
	manifest, err := spec.Manifest()
	if err != nil {
		return Result{}, err
	}
	samples = min(samples, data.Len())
	images, labels := data.Images[:samples*mnist.Pixels], data.Labels[:samples]
	const lr = 0.1
	baseline, err := torch.start(ctx, spec, images, labels, batch, lr)
	if err != nil {
		return Result{}, err
	}
	defer baseline.close()

	run := goTraining{spec: spec, manifest: manifest, images: images, labels: labels, batch: batch, lr: lr}
	var ours, plain, theirs float64
	for range trainingPasses {
		gorgonia, gonum, err := run.pass(ctx)
		if err != nil {
			return Result{}, err
		}
		rate, err := baseline.pass(ctx)
		if err != nil {
			return Result{}, err
		}
		ours, plain, theirs = max(ours, gorgonia), max(plain, gonum), max(theirs, rate)
	}
	return trainingResult(spec, batch, ours, plain, theirs, baseline.missing), nil
}

// goTraining is the Go side of the comparison: FedKeeper's training and the plain gonum
// network, each from a fresh model over the same examples.
type goTraining struct {
	spec     model.Spec
	manifest []model.Param
	images   []float32
	labels   []uint8
	batch    int
	lr       float64
}

// pass trains one epoch of each and returns their samples per second. The Go scheduler
// runs on one thread meanwhile, as the fabric runs a client function (GOMAXPROCS=1),
// so that neither side trains on the second core.
func (g goTraining) pass(ctx context.Context) (gorgonia, gonum float64, err error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	samples := float64(len(g.labels))
	params := model.Init(g.manifest, 1)
	start := time.Now()
	opts := model.TrainOptions{Optimizer: "sgd", LR: g.lr, Epochs: 1, BatchSize: g.batch, Seed: 1}
	if _, err := model.Train(ctx, g.spec, params, g.images, g.labels, opts); err != nil {
		return 0, 0, fmt.Errorf("bench: train: %w", err)
	}
	gorgonia = samples / time.Since(start).Seconds()
	params = model.Init(g.manifest, 1)
	start = time.Now()
	if err := trainSpec(g.spec, params, g.images, g.labels, g.lr, g.batch); err != nil {
		return 0, 0, err
	}
	return gorgonia, samples / time.Since(start).Seconds(), nil
}

func trainSpec(spec model.Spec, params, images []float32, labels []uint8, lr float64, batch int) error {
	var err error
	switch spec.Kind {
	case model.MLP:
		_, err = trainPlainMLP(spec.Hidden, params, images, labels, "sgd", lr, 1, batch, 1)
	case model.CNN:
		_, err = trainPlainCNN(params, images, labels, "sgd", lr, 1, batch, 1)
	default:
		err = fmt.Errorf("bench: no baseline for %q", spec.Kind)
	}
	return err
}

// trainingResult is the figure against PyTorch (against gonum, where torch is missing,
// with the reason).
func trainingResult(spec model.Spec, batch int, ours, plain, theirs float64, missing string) Result {
	name := fmt.Sprintf("CNN training (batch %d, SGD, one thread)", batch)
	if spec.Kind == model.MLP {
		name = fmt.Sprintf("MLP training (%d hidden, batch %d, SGD, one thread)", spec.Hidden, batch)
	}
	note := fmt.Sprintf("the fastest of %d passes each, alternating: an epoch over the same MNIST images from a fresh model, "+
		"gorgonia's graph (fl/model, with fl/fastblas's Sgemm) against Debian's PyTorch (%s), "+
		"both on one thread; the same network written directly on gonum's blas32 reached %.0f samples/s in the same rounds",
		trainingPasses, "bench/torch_training.py", plain)
	r := Result{Name: name, Value: ours, Baseline: theirs, Unit: "samples/s", BaselineName: "PyTorch, the same model and data",
		Target: "at least PyTorch's", Note: note}
	if missing != "" {
		r.Baseline, r.BaselineName, r.Target = plain, "the same network on gonum blas32", ""
		r.Note = fmt.Sprintf("no PyTorch figure: %s; the fastest of %d passes each", missing, trainingPasses)
		return r
	}
	r.Met = Met(ours >= theirs)
	return r
}
