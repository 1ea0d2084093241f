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
	"time"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/httpfn"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/functions/relay"
	"github.com/fedkeeper/fedkeeper/weights"
)

const key = "test-key"

// relayEnv is a store holding v0 of a small MLP, an edge client (fl_client over HTTP,
// deployed with the key but no MongoDB address) and the invoker deployed to reach it.
type relayEnv struct {
	store   *weights.Store
	v0      []float32
	sum     string
	spec    model.Spec
	invoker *relay.Invoker
	// edgeCalls and strayCalls count requests that reached the edge client and a server
	// the invoker must never call.
	edgeCalls, strayCalls atomic.Int32
	sawMongo              atomic.Bool
	strayURL              string
}

func newRelayEnv(t *testing.T) *relayEnv {
	t.Helper()
	ctx := context.Background()
	srv, err := mongodb.Start(ctx, mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	e := &relayEnv{spec: model.Spec{Kind: model.MLP, Hidden: 32}}
	if e.store, err = weights.Connect(ctx, weights.Options{URI: srv.URI(), DB: "t", Collection: "w"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.store.Close(ctx) })
	manifest, _ := e.spec.Manifest()
	e.v0 = model.Init(manifest, 1)
	info, err := e.store.PutGlobal(ctx, weights.Global{Experiment: "e", Version: 0, Manifest: manifest, Params: e.v0})
	if err != nil {
		t.Fatal(err)
	}
	e.sum = info.Checksum
	client := httpfn.Handler(flclient.New(deployment.Config{TokenKey: key}, nil).Handle)
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.edgeCalls.Add(1)
		if r.Header.Get("Authorization") != "Bearer edge-key" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		e.sawMongo.Store(e.sawMongo.Load() || strings.Contains(string(body), srv.URI()))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		client(w, r)
	}))
	t.Cleanup(edge.Close)
	stray := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.strayCalls.Add(1) }))
	t.Cleanup(stray.Close)
	e.strayURL = stray.URL
	e.invoker = relay.NewInvoker(deployment.Config{TokenKey: key, MongoURI: srv.URI(), Relay: map[string]deployment.Target{
		"openfaas/edge":   {URL: edge.URL, Header: map[string]string{"Authorization": "Bearer edge-key"}},
		"openfaas/nokeys": {URL: edge.URL},
	}}, nil)
	return e
}

func (e *relayEnv) task(t *testing.T, client int) flclient.Task {
	t.Helper()
	train, _, err := mnist.DefaultSources()
	if err != nil {
		t.Fatal(err)
	}
	return flclient.Task{
		Experiment: "e", Round: 1, Client: client, Attempt: 1, BaseVersion: 0, Model: e.spec,
		Train:        model.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: 10, Seed: 1},
		Data:         flclient.Data{Train: train, Partition: partition.Spec{Scheme: partition.IID, NumClients: 10, ShardsPerClient: 1, ShardSize: 50, Seed: 1}},
		InlineSHA256: e.sum,
	}
}

func seal(t *testing.T, k, kind string, task any) invocation.Request {
	t.Helper()
	r, err := invocation.Seal(k, kind, task, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The invoker reads the global model, sends it to a client that has no MongoDB address,
// and stores the update the client sends back; it takes only signed requests and calls
// only the clusters it was deployed with.
func TestInvokerCarriesWeightsBothWays(t *testing.T) {
	e := newRelayEnv(t)
	ctx := context.Background()
	clients := []relay.InvokerClient{
		{Cluster: "openfaas/edge", Request: seal(t, key, invocation.KindClient, e.task(t, 3))},
		// The target without credentials answers 401.
		{Cluster: "openfaas/nokeys", Request: seal(t, key, invocation.KindClient, e.task(t, 4))},
		{Cluster: "openfaas/edge", Request: seal(t, "guessed-key", invocation.KindClient, e.task(t, 5))},
		// A cluster the invoker was not deployed with: never called.
		{Cluster: "anywhere", Request: seal(t, key, invocation.KindClient, e.task(t, 6))},
	}
	raw, _ := json.Marshal(seal(t, key, invocation.KindRelay, relay.InvokerTask{Clients: clients, Store: flclient.Store{DB: "t", Collection: "w"}}))
	out, err := e.invoker.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(relay.InvokerResult)
	if len(res.Results) != 1 || res.Results[0].Client != 3 || res.Results[0].Samples != 50 || res.Results[0].Update != nil {
		t.Fatalf("results %+v (errors %v)", res.Results, res.Errors)
	}
	if !strings.Contains(res.Errors[4], "401") {
		t.Errorf("client 4 without credentials: %v", res.Errors)
	}
	if !strings.Contains(res.Errors[-3], "invalid token") {
		t.Errorf("client 5 with a forged token: %v", res.Errors)
	}
	if !strings.Contains(res.Errors[6], "not one this invoker was deployed to reach") {
		t.Errorf("client 6 on an unknown cluster: %v", res.Errors)
	}
	if n := e.edgeCalls.Load(); n != 2 {
		t.Errorf("the edge was called %d times, want 2 (clients 3 and 4)", n)
	}
	for _, c := range []int{4, 5, 6} {
		if _, err := e.store.GetUpdate(ctx, "e", 1, c); err == nil {
			t.Errorf("client %d's refused call stored an update", c)
		}
	}
	if e.sawMongo.Load() {
		t.Error("the client received the MongoDB address")
	}
	u, err := e.store.GetUpdate(ctx, "e", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for i := range u.Params {
		changed = changed || u.Params[i] != e.v0[i]
	}
	if !changed || u.Samples != 50 || u.BaseVersion != 0 {
		t.Errorf("stored update: samples %d, base v%d, changed %v", u.Samples, u.BaseVersion, changed)
	}
}

// The invoker's own request must be signed, and may not carry a target's address.
func TestInvokerRefusesUnsignedRequestsAndAddresses(t *testing.T) {
	e := newRelayEnv(t)
	stray := e.strayURL + "/steal"
	tests := []struct {
		name string
		raw  string
	}{
		{"the old format, with a URL and headers", `{"clients":[{"target":{"url":"` + stray + `"},"params":{}}]}`},
		{"signed with another key", mustJSON(seal(t, "guessed", invocation.KindRelay, relay.InvokerTask{Clients: []relay.InvokerClient{{Cluster: "openfaas/edge"}}}))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.invoker.Handle(context.Background(), json.RawMessage(tc.raw)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// A task naming a URL as its cluster is a cluster name like any other: unknown.
	task := relay.InvokerTask{Clients: []relay.InvokerClient{{Cluster: stray, Request: seal(t, key, invocation.KindClient, e.task(t, 1))}},
		Store: flclient.Store{DB: "t", Collection: "w"}}
	out, err := e.invoker.Handle(context.Background(), json.RawMessage(mustJSON(seal(t, key, invocation.KindRelay, task))))
	if err != nil {
		t.Fatal(err)
	}
	if res := out.(relay.InvokerResult); len(res.Results) != 0 || e.strayCalls.Load() != 0 || e.edgeCalls.Load() != 0 {
		t.Errorf("a URL as the cluster: results %+v, errors %v", res.Results, res.Errors)
	}
}

func mustJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}
