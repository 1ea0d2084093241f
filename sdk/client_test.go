package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/sdk"
	"github.com/fedkeeper/fedkeeper/weights"
)

const key = "sdk-test-key"

// env is a store holding v0 of a small MLP, and a task for it.
type env struct {
	store *weights.Store
	dep   deployment.Config
	v0    []float32
	task  sdk.Task
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv, err := mongodb.Start(ctx, mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	e := &env{dep: deployment.Config{TokenKey: key, MongoURI: srv.URI()}}
	if e.store, err = weights.Connect(ctx, weights.Options{URI: srv.URI(), DB: "t", Collection: "w"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.store.Close(ctx) })
	spec := arch.Spec{Kind: arch.MLP, Hidden: 4}
	manifest, _ := spec.Manifest()
	e.v0 = arch.Init(manifest, 1)
	if _, err := e.store.PutGlobal(ctx, weights.Global{Experiment: "e", Version: 0, Manifest: manifest, Params: e.v0}); err != nil {
		t.Fatal(err)
	}
	train, _, err := mnist.DefaultSources()
	if err != nil {
		t.Fatal(err)
	}
	e.task = sdk.Task{Experiment: "e", Round: 1, Client: 1, Attempt: 1, Model: spec,
		Train: arch.TrainOptions{Seed: 3},
		Data:  sdk.Data{Train: train, Partition: partition.Spec{Scheme: partition.IID, NumClients: 4, ShardsPerClient: 1, ShardSize: 20, Seed: 1}},
		Store: sdk.Store{DB: "t", Collection: "w"}}
	return e
}

func (e *env) request(t *testing.T, task sdk.Task) json.RawMessage {
	t.Helper()
	req, err := invocation.Seal(key, invocation.KindClient, task, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(req)
	return raw
}

// addOne is a client of its own: it adds one to every parameter and reports its share.
func addOne(ctx context.Context, task sdk.Task, global sdk.Model) (sdk.Update, error) {
	data, err := task.LoadData(ctx)
	if err != nil {
		return sdk.Update{}, err
	}
	for i := range global.Params {
		global.Params[i]++
	}
	return sdk.Update{Params: global.Params, Samples: data.Len(), Loss: 0.5}, nil
}

// A client of its own, served by the SDK: it gets the stored global model and its
// data share, and what it returns is stored as its update, with its attempt.
func TestClientOfItsOwnIsServedAndStored(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := sdk.NewClientWith(addOne, e.dep, nil).Handle(ctx, e.request(t, e.task))
	if err != nil {
		t.Fatal(err)
	}
	res := out.(sdk.Result)
	if res.Samples != 20 || res.Client != 1 || res.Attempt != 1 || res.Seconds <= 0 {
		t.Fatalf("result %+v", res)
	}
	u, err := e.store.GetUpdate(ctx, "e", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A small update's bytes also come back, named by the stored update's checksum.
	if res.Update == nil || res.Update.Checksum != res.UpdateSHA256 {
		t.Fatalf("a small stored update's result carries %+v, checksum %q", res.Update, res.UpdateSHA256)
	}
	if carried, err := weights.Decode(res.Update.Data, u.Manifest, res.UpdateSHA256); err != nil || !slices.Equal(carried, u.Params) {
		t.Errorf("the carried bytes are not the stored update: %v", err)
	}
	if u.Attempt != 1 || u.Samples != 20 || u.Params[0] != e.v0[0]+1 {
		t.Errorf("stored update: attempt %d, %d samples, first value %v (global %v)", u.Attempt, u.Samples, u.Params[0], e.v0[0])
	}
}

// A relayed client: the global model comes in the request, the update goes back in
// the answer, and nothing touches a store (the deployment has none).
func TestRelayedClientAnswersItsUpdate(t *testing.T) {
	e := newEnv(t)
	data, sum := weights.Encode(e.v0)
	task := e.task
	task.Store, task.InlineSHA256 = sdk.Store{}, sum
	req, err := invocation.Seal(key, invocation.KindClient, task, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	req.Inline = &invocation.Weights{Data: data, Checksum: sum}
	raw, _ := json.Marshal(req)
	out, err := sdk.NewClientWith(addOne, deployment.Config{TokenKey: key}, nil).Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(sdk.Result)
	manifest, _ := task.Model.Manifest()
	params, err := weights.Decode(res.Update.Data, manifest, res.Update.Checksum)
	if err != nil || params[0] != e.v0[0]+1 {
		t.Fatalf("the answered update: %v (%v)", params, err)
	}
}

// What a client's function returns is checked, and the experiment's privacy applies to
// every client whatever its code.
func TestClientUpdatesAreCheckedAndPrivatised(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		train sdk.TrainFunc
		want  string
	}{
		{"too few values", func(_ context.Context, _ sdk.Task, g sdk.Model) (sdk.Update, error) {
			return sdk.Update{Params: g.Params[:3], Samples: 1}, nil
		}, "values"},
		{"no samples", func(_ context.Context, _ sdk.Task, g sdk.Model) (sdk.Update, error) {
			return sdk.Update{Params: g.Params}, nil
		}, "samples"},
		{"its own error", func(context.Context, sdk.Task, sdk.Model) (sdk.Update, error) {
			return sdk.Update{}, errors.New("out of memory")
		}, "out of memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdk.NewClientWith(tc.train, e.dep, nil).Handle(ctx, e.request(t, e.task))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// Clipped to norm 1 whatever the client's change: adding one to every one of the
	// parameters moves them by √n.
	private := e.task
	private.Client, private.Privacy = 2, privacy.Mechanism{Clip: 1, NoiseMultiplier: 0.0001}
	if _, err := sdk.NewClientWith(addOne, e.dep, nil).Handle(ctx, e.request(t, private)); err != nil {
		t.Fatal(err)
	}
	u, err := e.store.GetUpdate(ctx, "e", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	norm := 0.0
	for i := range u.Params {
		d := float64(u.Params[i] - e.v0[i])
		norm += d * d
	}
	if norm > 1.01 || norm < 0.98 {
		t.Errorf("the private update moved by a squared norm of %v, want about 1", norm)
	}
}
