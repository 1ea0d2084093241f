package activities

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/mclr"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/weights"
)

var testSynthetic = synthetic.Spec{Alpha: 1, Beta: 1, Devices: 8, Seed: 4}

// execute runs one activity of acts in a test environment and decodes its result.
func execute[T any](t *testing.T, acts *Activities, fn any, in any) (T, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	var out T
	val, err := env.ExecuteActivity(fn, in)
	if err != nil {
		return out, err
	}
	return out, val.Get(&out)
}

// A synthetic experiment's versions are scored as the FedProx paper scores them, on
// every device: the pooled training loss and the pooled test accuracy, stored with
// the version; a model other than mclr cannot be scored there.
func TestEvaluateScoresSyntheticData(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	manifest, _ := arch.Spec{Kind: arch.MCLR}.Manifest()
	rng := rand.New(rand.NewPCG(1, 2))
	params := make([]float32, mclr.NumParams)
	for i := range params {
		params[i] = float32(rng.NormFloat64())
	}
	if _, err := store.PutGlobal(ctx, weights.Global{Experiment: "e", Version: 1, Manifest: manifest, Params: params}); err != nil {
		t.Fatal(err)
	}
	acts := newActivities(t, &fakeProvider{}, store)
	got, err := execute[EvaluateResult](t, acts, acts.Evaluate, EvaluateInput{Experiment: "e", Version: 1, Model: model.Spec{Kind: model.MCLR}, Synthetic: testSynthetic})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := mclr.NewEvaluator(testSynthetic)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ev.Evaluate(ctx, params)
	if got.Loss != want.Loss || got.Accuracy != want.Accuracy || math.IsNaN(got.Loss) {
		t.Errorf("scored %+v, the pooled devices say %+v", got, want)
	}
	infos, err := store.ListGlobals(ctx, "e")
	if err != nil || len(infos) != 1 || infos[0].Metrics == nil || infos[0].Metrics.Accuracy != want.Accuracy {
		t.Errorf("stored metrics %+v (%v)", infos, err)
	}
	_, err = execute[EvaluateResult](t, acts, acts.Evaluate, EvaluateInput{Experiment: "e", Version: 1, Model: model.Spec{Kind: model.MLP, Hidden: 3}, Synthetic: testSynthetic})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeBadConfig {
		t.Errorf("an MLP scored on synthetic data: %v", err)
	}
}

// A synthetic client's task names its data by the Spec alone: no files, no partition.
func TestClientTaskNamesTheData(t *testing.T) {
	acts := newActivities(t, &fakeProvider{}, nil)
	acts.deps.TrainData = mnist.Source{ImagesURL: "file:///i", LabelsURL: "file:///l"}
	part := partition.Spec{Scheme: partition.IID, NumClients: 8, ShardsPerClient: 1, ShardSize: 10, Seed: 4}
	synth := acts.clientTask(ClientTask{Experiment: "e", Round: 1, Client: 3, Attempt: 1, Synthetic: testSynthetic})
	if synth.Data.Synthetic != testSynthetic || synth.Data.Train != (mnist.Source{}) || synth.Data.Partition != (partition.Spec{}) {
		t.Errorf("synthetic task data %+v", synth.Data)
	}
	plain := acts.clientTask(ClientTask{Experiment: "e", Round: 1, Client: 3, Attempt: 1, Partition: part})
	if plain.Data.Synthetic.On() || plain.Data.Train != acts.deps.TrainData || plain.Data.Partition != part {
		t.Errorf("MNIST task data %+v", plain.Data)
	}
}

// Version 0 of a synthetic experiment comes with the record of every device's
// training examples by label.
func TestInitGlobalRecordsTheSyntheticDevices(t *testing.T) {
	store := openStore(t)
	acts := newActivities(t, &fakeProvider{}, store)
	res, err := execute[InitResult](t, acts, acts.InitGlobal, InitInput{Experiment: "e", Model: model.Spec{Kind: model.MCLR}, Seed: 4, Synthetic: testSynthetic})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := synthetic.New(testSynthetic)
	want := 0
	for _, n := range g.Sizes() {
		want += synthetic.TrainSize(n)
	}
	rec, err := store.GetPartitions(context.Background(), "e")
	if err != nil {
		t.Fatal(err)
	}
	if res.NumParams != mclr.NumParams || res.Clients != 8 || res.Samples != want || rec.Scheme != "synthetic" || len(rec.Clients) != 8 {
		t.Fatalf("init %+v, record %+v; want %d samples over 8 devices", res, rec, want)
	}
	for k, share := range rec.Clients {
		sum := 0
		for _, n := range share.Labels {
			sum += n
		}
		if share.Client != k || sum != share.Samples || share.Samples != synthetic.TrainSize(g.Sizes()[k]) {
			t.Errorf("device %d's share %+v", k, share)
		}
	}
}
