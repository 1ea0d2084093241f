package mlp

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/sdk"
	"github.com/fedkeeper/fedkeeper/weights"
)

// The gradients backprop adds are the loss's: checked against central differences on
// a few parameters of every tensor.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	const hidden = 3
	manifest, _ := arch.Spec{Kind: arch.MLP, Hidden: hidden}.Manifest()
	params := arch.Init(manifest, 2)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, inputs)
	for i := range x {
		x[i] = rng.Float32()
	}
	n := newNet(params, hidden)
	n.zero()
	n.backprop(x, 4)
	lossAt := func() float64 {
		m := newNet(params, hidden)
		return m.backprop(x, 4)
	}
	grads := append(append(append(append([]float32(nil), n.gw1...), n.gb1...), n.gw2...), n.gb2...)
	for _, i := range []int{0, 5, inputs*hidden + 1, inputs*hidden + hidden + 7, len(params) - 2} {
		orig := params[i]
		const h = 1e-2
		params[i] = orig + h
		up := lossAt()
		params[i] = orig - h
		down := lossAt()
		params[i] = orig
		numeric := (up - down) / (2 * h)
		if math.Abs(numeric-float64(grads[i])) > 1e-3+0.02*math.Abs(numeric) {
			t.Errorf("parameter %d: gradient %v, finite difference %v", i, grads[i], numeric)
		}
	}
}

// Served by the SDK as a relayed client, one epoch on 600 images lifts the test
// accuracy far above chance.
func TestTrainsThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	spec := arch.Spec{Kind: arch.MLP, Hidden: 32}
	manifest, _ := spec.Manifest()
	v0 := arch.Init(manifest, 1)
	data, sum := weights.Encode(v0)
	train, test, err := mnist.DefaultSources()
	if err != nil {
		t.Fatal(err)
	}
	task := sdk.Task{Experiment: "e", Round: 1, Client: 0, Attempt: 1, Model: spec,
		Train:        arch.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: 10, Seed: 9},
		Data:         sdk.Data{Train: train, Partition: partition.Spec{Scheme: partition.IID, NumClients: 10, ShardsPerClient: 2, ShardSize: 300, Seed: 1}},
		InlineSHA256: sum}
	req, err := invocation.Seal("k", invocation.KindClient, task, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	req.Inline = &invocation.Weights{Data: data, Checksum: sum}
	raw, _ := json.Marshal(req)
	out, err := sdk.NewClientWith(Train, deployment.Config{TokenKey: "k"}, nil).Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(sdk.Result)
	params, err := weights.Decode(res.Update.Data, manifest, res.Update.Checksum)
	if err != nil || res.Samples != 600 {
		t.Fatalf("update of %d samples: %v", res.Samples, err)
	}
	testSet, err := mnist.Load(ctx, test)
	if err != nil {
		t.Fatal(err)
	}
	first := testSet.Subset(seq(1000))
	ev, err := model.NewEvaluator(spec, first.Images, first.Labels, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	m, err := ev.Evaluate(ctx, params)
	if err != nil || m.Accuracy < 0.6 {
		t.Errorf("accuracy %.3f after one epoch (%v), want above 0.6 (the built-in gorgonia client reaches about 0.69)", m.Accuracy, err)
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
