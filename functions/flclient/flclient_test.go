package flclient

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/mclr"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

const key = "flclient-test-key"

// The built-in client trains multinomial logistic regression on its synthetic device:
// from zero weights its device's loss falls far below ln 10, as FedProx's first round
// would see it, and with μ the update stays nearer the global model.
func TestTrainsMCLROnItsSyntheticDevice(t *testing.T) {
	spec := synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 1}
	g, err := synthetic.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	const client = 27 // 1,303 examples, 1,172 to train on
	dev, err := g.Device(client)
	if err != nil {
		t.Fatal(err)
	}
	global := make([]float32, mclr.NumParams)
	moved := map[float64]float64{}
	for _, mu := range []float64{0, 1} {
		task := Task{Experiment: "e", Round: 1, Client: client, Attempt: 1, Model: arch.Spec{Kind: arch.MCLR},
			Train: arch.TrainOptions{Optimizer: "sgd", LR: 0.01, Epochs: 5, BatchSize: 10, Seed: 4, ProximalMu: mu},
			Data:  Data{Synthetic: spec}}
		res, params := runRelayed(t, task, global)
		before, _ := mclr.Score(context.Background(), global, dev.Train.Features, dev.Train.Labels)
		after, _ := mclr.Score(context.Background(), params, dev.Train.Features, dev.Train.Labels)
		t.Logf("μ=%v: %d samples, loss %.3f (reported %.3f), accuracy %.3f → %.3f", mu, res.Samples, after.Loss, res.Loss, before.Accuracy, after.Accuracy)
		if res.Samples != dev.Train.Len() || after.Loss > 0.6*math.Log(10) || after.Accuracy < before.Accuracy+0.3 {
			t.Errorf("μ=%v: %d samples (want %d), loss %.3f, accuracy %.3f → %.3f", mu, res.Samples, dev.Train.Len(), after.Loss, before.Accuracy, after.Accuracy)
		}
		for i := range params {
			moved[mu] += float64((params[i] - global[i]) * (params[i] - global[i]))
		}
	}
	if !(moved[1] < moved[0]) {
		t.Errorf("‖w − w_global‖² is %.4g with μ = 1 and %.4g without: the proximal term does not hold the client back", moved[1], moved[0])
	}
}

// runRelayed serves task through the built-in client with the global model inline, and
// returns its result and its update.
func runRelayed(t *testing.T, task Task, global []float32) (Result, []float32) {
	t.Helper()
	data, sum := weights.Encode(global)
	task.InlineSHA256 = sum
	req, err := invocation.Seal(key, invocation.KindClient, task, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	req.Inline = &invocation.Weights{Data: data, Checksum: sum}
	raw, _ := json.Marshal(req)
	out, err := New(deployment.Config{TokenKey: key}, nil).Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(Result)
	manifest, _ := task.Model.Manifest()
	params, err := weights.Decode(res.Update.Data, manifest, res.Update.Checksum)
	if err != nil {
		t.Fatal(err)
	}
	return res, params
}
