package interop

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/mclr"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/sdk"
	"github.com/fedkeeper/fedkeeper/weights"
)

// TestCrossLanguageSynthetic: the Python SDK serves synthetic tasks the Go keeper's code
// sealed, generates the very device Go generates for its client (the same float32
// features and labels), trains mclr on it as Go's built-in client does (the same
// shuffles and steps, with and without FedProx's μ, with Adam too), and stores updates
// that Go's weight store reads back and that match Go's own training of the task.
func TestCrossLanguageSynthetic(t *testing.T) {
	requirePython(t)
	ctx := context.Background()
	uri := startStore(t)
	store, err := weights.Connect(ctx, weights.Options{URI: uri, DB: "interop", Collection: "w"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(ctx) })
	e := &crossEnv{uri: uri, plain: store, globals: map[string][]float32{}, trainer: "mclr"}
	spec := arch.Spec{Kind: arch.MCLR}
	e.putGlobal(t, store, "synthetic", 0, spec)
	e.putGlobal(t, store, "synthetic-iid", 0, spec)
	nonIID := synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 1}
	task := func(experiment string, data synthetic.Spec, client int, opts arch.TrainOptions) sdk.Task {
		return sdk.Task{Experiment: experiment, Round: 1, Client: client, Attempt: 1, Model: spec, Train: opts,
			Data: sdk.Data{Synthetic: data}, Store: sdk.Store{DB: "interop", Collection: "w"}}
	}
	sgd := arch.TrainOptions{Optimizer: "sgd", LR: 0.01, Epochs: 3, BatchSize: 10, Seed: 5}
	prox := sgd
	prox.ProximalMu = 1
	adam := arch.TrainOptions{Optimizer: "adam", LR: 0.01, Epochs: 2, BatchSize: 10, Seed: 6}
	cases := []crossCase{
		{name: "synthetic(1,1), a small device", store: store, task: task("synthetic", nonIID, 3, sgd)},
		{name: "synthetic(1,1), 6,030 examples", store: store, task: task("synthetic", nonIID, 22, sgd)},
		{name: "fedprox's proximal step", store: store, task: task("synthetic", nonIID, 27, prox)},
		{name: "adam", store: store, task: task("synthetic", nonIID, 0, adam)},
		{name: "synthetic-iid", store: store, task: task("synthetic-iid", synthetic.Spec{IID: true, Devices: 30, Seed: 1}, 27, sgd)},
	}
	for i := range cases {
		cases[i].v = e.globals[cases[i].task.Experiment]
	}
	answers, shares := e.servePython(t, cases)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := answers[i]
			if a.Status != 200 {
				t.Fatalf("answered %d: %s", a.Status, a.Body.Error)
			}
			train := goDevice(t, c.task)
			key := "synthetic"
			if c.task.Data.Synthetic.IID {
				key = "synthetic-iid"
			}
			if got := shares[fmt.Sprintf("%s/r1/c%d/a1", key, c.task.Client)]; got != digestOf(train) {
				t.Errorf("the Python client trained on data %s, Go generates %s", got, digestOf(train))
			}
			want := slices.Clone(c.v)
			res, err := mclr.Train(ctx, want, train.Features, train.Labels, c.task.Train)
			if err != nil {
				t.Fatal(err)
			}
			if a.Body.Samples != train.Len() || math.Abs(a.Body.Loss-res.Loss) > 1e-6*(1+res.Loss) {
				t.Errorf("Python reported %d samples, loss %v; Go trains %d, loss %v", a.Body.Samples, a.Body.Loss, train.Len(), res.Loss)
			}
			got := e.reported(t, c, a)
			worst := 0.0
			for j := range got {
				worst = max(worst, math.Abs(float64(got[j]-want[j])))
			}
			if worst > 1e-4 {
				t.Errorf("the Python update differs from Go's training by up to %.3g", worst)
			}
			t.Logf("%d examples: Python's update within %.2g of Go's", train.Len(), worst)
		})
	}
}

// goDevice is the training part of a synthetic task's device, as Go generates it.
func goDevice(t *testing.T, task sdk.Task) synthetic.Split {
	t.Helper()
	g, err := synthetic.New(task.Data.Synthetic)
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Device(task.Client)
	if err != nil {
		t.Fatal(err)
	}
	return d.Train
}

// digestOf is the SHA-256 of a split's float32 features (little-endian) and labels, as
// the Python driver computes it.
func digestOf(s synthetic.Split) string {
	h := sha256.New()
	var b [4]byte
	for _, v := range s.Features {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	h.Write(s.Labels)
	return hex.EncodeToString(h.Sum(nil))
}
