package relay_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/httpfn"
	"github.com/fedkeeper/fedkeeper/functions/relay"
	"github.com/fedkeeper/fedkeeper/functions/token"
	"github.com/fedkeeper/fedkeeper/weights"
)

// The invoker reads the global model, sends it to a client that has no MongoDB address,
// and stores the update the client sends back.
func TestInvokerCarriesWeightsBothWays(t *testing.T) {
	ctx := context.Background()
	// Both the invoker and the client (in this process) are deployed with the key.
	t.Setenv(token.EnvVar, "test-key")
	srv, err := mongodb.Start(ctx, mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	mongo := flclient.Mongo{URI: srv.URI(), DB: "t", Collection: "w"}
	store, err := weights.Connect(ctx, weights.Options{URI: mongo.URI, DB: mongo.DB, Collection: mongo.Collection})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	spec := model.Spec{Kind: model.MLP, Hidden: 32}
	manifest, _ := spec.Manifest()
	v0 := model.Init(manifest, 1)
	if _, err := store.PutGlobal(ctx, weights.Global{Experiment: "e", Version: 0, Manifest: manifest, Params: v0}); err != nil {
		t.Fatal(err)
	}

	// The client: fl_client over HTTP, refusing requests that carry a MongoDB address.
	var sawMongo atomic.Bool
	client := httpfn.Handler(flclient.New().Handle)
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer edge-key" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), srv.URI()) {
			sawMongo.Store(true)
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		client(w, r)
	}))
	defer edge.Close()

	train, _, err := mnist.DefaultSources()
	if err != nil {
		t.Fatal(err)
	}
	params := flclient.Params{
		Experiment: "e", Round: 1, Client: 3, BaseVersion: 0, Model: spec,
		Train: model.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: 10, Seed: 1},
		Data:  flclient.Data{Train: train, Partition: partition.Spec{Scheme: partition.IID, NumClients: 10, ShardsPerClient: 1, ShardSize: 50, Seed: 1}},
		Mongo: mongo,
	}
	params.Token = token.Sign("test-key", params.TokenParts()...)
	unauthenticated := params
	unauthenticated.Client = 4
	unauthenticated.Token = token.Sign("test-key", unauthenticated.TokenParts()...)
	forged := params
	forged.Client = 5
	forged.Token = token.Sign("guessed-key", forged.TokenParts()...)
	raw, _ := json.Marshal(relay.InvokerParams{Clients: []relay.InvokerClient{
		{Target: relay.Target{URL: edge.URL, Header: map[string]string{"Authorization": "Bearer edge-key"}}, Params: params},
		{Target: relay.Target{URL: edge.URL}, Params: unauthenticated},
		{Target: relay.Target{URL: edge.URL, Header: map[string]string{"Authorization": "Bearer edge-key"}}, Params: forged},
	}})
	out, err := relay.NewInvoker().Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(relay.InvokerResult)
	if len(res.Results) != 1 || res.Results[0].Client != 3 || res.Results[0].Samples != 50 || res.Results[0].Update != nil {
		t.Fatalf("results %+v", res.Results)
	}
	if !strings.Contains(res.Errors[4], "401") {
		t.Errorf("client 4 without credentials: %v", res.Errors)
	}
	if !strings.Contains(res.Errors[5], "invalid token") {
		t.Errorf("client 5 with a forged token: %v", res.Errors)
	}
	if _, err := store.GetUpdate(ctx, "e", 1, 5); err == nil {
		t.Error("a forged call stored an update")
	}
	if sawMongo.Load() {
		t.Error("the client received the MongoDB address")
	}
	u, err := store.GetUpdate(ctx, "e", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for i := range u.Params {
		changed = changed || u.Params[i] != v0[i]
	}
	if !changed || u.Samples != 50 || u.BaseVersion != 0 {
		t.Errorf("stored update: samples %d, base v%d, changed %v", u.Samples, u.BaseVersion, changed)
	}
}
