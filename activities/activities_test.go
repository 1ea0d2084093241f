package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/weights"
)

// fakeProvider is a FaaS cluster in memory.
type fakeProvider struct {
	mu          sync.Mutex
	deployed    bool
	deploys     int
	invokes     int
	notReady    int  // Activation answers ErrNotReady this many times
	reject      bool // Invoke refuses the caller
	activations map[string]faas.Activation
}

func (f *fakeProvider) Deploy(_ context.Context, fn faas.Function) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(fn.Code) == 0 || fn.Kind == "" {
		return errors.New("empty deployment")
	}
	f.deployed = true
	f.deploys++
	return nil
}

func (f *fakeProvider) Remove(context.Context, string) error { return nil }

func (f *fakeProvider) Invoke(_ context.Context, name string, params any) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reject {
		return "", fmt.Errorf("invoke %s: HTTP 401: %w", name, faas.ErrRejected)
	}
	if !f.deployed {
		return "", fmt.Errorf("invoke %s: %w", name, faas.ErrFunctionMissing)
	}
	f.invokes++
	return fmt.Sprintf("act-%d", f.invokes), nil
}

func (f *fakeProvider) Activation(_ context.Context, _, id string) (faas.Activation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notReady > 0 {
		f.notReady--
		return faas.Activation{}, faas.ErrNotReady
	}
	act, ok := f.activations[id]
	if !ok {
		return faas.Activation{}, faas.ErrNotReady
	}
	return act, nil
}

func testConfig(t *testing.T) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "client")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`
data_dir: %s
scenarios:
  federated_learning:
    clients_info: {total_num_clients: 4, num_clients_per_round: 2}
    functions:
      fl_client:
        openwhisk: {func_path: %s}
`, dir, exe)
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

func newActivities(t *testing.T, prov faas.Provider, store *weights.Store) *Activities {
	cfg, dir := testConfig(t)
	return New(Deps{Config: cfg, BaseDir: dir, BuildDir: filepath.Join(dir, "build"), Store: store,
		Providers: map[string]faas.Provider{"openwhisk/local": prov}})
}

func TestMissingFunctionIsRedeployedOnce(t *testing.T) {
	prov := &fakeProvider{}
	acts := newActivities(t, prov, nil)
	var suite testsuite.WorkflowTestSuite
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(client int) {
			defer wg.Done()
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
			val, err := env.ExecuteActivity(acts.InvokeClient, ClientTask{Experiment: "e", Round: 1, Client: client % 4, Attempt: 1})
			if err != nil {
				errs <- err
				return
			}
			var inv Invocation
			if err := val.Get(&inv); err != nil || inv.ActivationID == "" || inv.Platform != "openwhisk" {
				errs <- fmt.Errorf("invocation %+v: %v", inv, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if prov.deploys != 1 || prov.invokes != 8 {
		t.Errorf("%d deployments and %d invocations, want 1 and 8", prov.deploys, prov.invokes)
	}
}

func TestPollActivationReadsTheResult(t *testing.T) {
	ok, _ := json.Marshal(map[string]any{"client": 2, "round": 1, "samples": 600, "loss": 0.25, "train_seconds": 1.5})
	prov := &fakeProvider{deployed: true, notReady: 3, activations: map[string]faas.Activation{
		"good":  {ID: "good", Status: "success", Success: true, Result: ok, ColdStart: true, InitTime: 40 * time.Millisecond},
		"error": {ID: "error", Status: "application error", Result: json.RawMessage(`{"error":"no data"}`)},
		"liar":  {ID: "liar", Status: "success", Success: true, Result: json.RawMessage(`{"client":3,"samples":600}`)},
	}}
	acts := newActivities(t, prov, nil)
	var suite testsuite.WorkflowTestSuite
	tests := []struct {
		id      string
		success bool
		errText string
	}{
		{"good", true, ""},
		{"error", false, "no data"},
		{"liar", false, "function answered for client 3"},
	}
	for _, tc := range tests {
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
		val, err := env.ExecuteActivity(acts.PollActivation, Invocation{Client: 2, ActivationID: tc.id})
		if err != nil {
			t.Fatal(err)
		}
		var run ClientRun
		if err := val.Get(&run); err != nil {
			t.Fatal(err)
		}
		if run.Success != tc.success || !strings.Contains(run.Error, tc.errText) {
			t.Errorf("%s: %+v", tc.id, run)
		}
		if tc.id == "good" && (run.Samples != 600 || run.Loss != 0.25 || !run.ColdStart || run.InitSeconds != 0.04) {
			t.Errorf("good run %+v", run)
		}
	}
}

func openStore(t *testing.T) *weights.Store {
	t.Helper()
	srv, err := mongodb.Start(context.Background(), mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s, err := weights.Connect(context.Background(), weights.Options{URI: srv.URI(), DB: "t", Collection: "w"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestAggregateCountsGoodUpdatesOnce(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	spec := model.Spec{Kind: model.MLP, Hidden: 2}
	manifest, _ := spec.Manifest()
	n := model.NumParams(manifest)
	filled := func(v float32) []float32 {
		p := make([]float32, n)
		for i := range p {
			p[i] = v
		}
		return p
	}
	put := func(client, round, base, samples int, params []float32) {
		if _, err := store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: round, Client: client, BaseVersion: base,
			Samples: samples, Manifest: manifest, Params: params}); err != nil {
			t.Fatal(err)
		}
	}
	put(0, 3, 2, 100, filled(1))
	put(1, 3, 2, 300, filled(5))
	put(2, 3, 1, 100, filled(9)) // trained from a stale version
	nan := filled(1)
	nan[7] = float32(math.NaN())
	put(3, 3, 2, 100, nan)
	// client 4 never wrote anything
	// client 5 trained another model: an MLP with a wider hidden layer.
	wide, _ := model.Spec{Kind: model.MLP, Hidden: 3}.Manifest()
	if _, err := store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: 3, Client: 5, BaseVersion: 2, Samples: 100,
		Manifest: wide, Params: make([]float32, model.NumParams(wide))}); err != nil {
		t.Fatal(err)
	}

	acts := newActivities(t, &fakeProvider{}, store)
	var suite testsuite.WorkflowTestSuite
	run := func() AggregateResult {
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
		val, err := env.ExecuteActivity(acts.Aggregate, AggregateInput{Experiment: "e", Round: 3, BaseVersion: 2, Clients: []int{5, 4, 3, 2, 1, 0}, Model: spec})
		if err != nil {
			t.Fatal(err)
		}
		var res AggregateResult
		if err := val.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run()
	if fmt.Sprint(res.Counted) != "[0 1]" || res.Updates != 2 || res.Samples != 400 || res.Version != 3 || len(res.Rejected) != 4 {
		t.Fatalf("result %+v", res)
	}
	// Each rejection is recorded with its reason.
	reasons := map[int]string{
		2: "from version 1, want round 3 from version 2",
		3: "value 7 is NaN",
		4: "no update stored",
		5: "another model's shape",
	}
	for _, r := range res.Rejected {
		if !strings.Contains(r.Reason, reasons[r.Client]) {
			t.Errorf("client %d rejected for %q, want %q", r.Client, r.Reason, reasons[r.Client])
		}
	}
	g, err := store.GetGlobal(ctx, "e", 3)
	if err != nil {
		t.Fatal(err)
	}
	// (100*1 + 300*5) / 400 = 4
	if g.Params[0] != 4 || g.Params[n-1] != 4 {
		t.Fatalf("global %v…", g.Params[:3])
	}
	// A retry finds the version and changes nothing, although the updates are gone.
	again := run()
	if fmt.Sprint(again.Counted) != "[0 1]" || again.Samples != 400 {
		t.Fatalf("retried aggregation %+v", again)
	}
	if _, err := store.GetUpdate(ctx, "e", 3, 0); !errors.Is(err, weights.ErrNotFound) {
		t.Errorf("aggregated updates not deleted: %v", err)
	}
}

// vanishingProvider never finishes an activation; its function is as deployment says.
type vanishingProvider struct {
	fakeProvider
	deployment faas.Deployment
}

func (v *vanishingProvider) Deployment(context.Context, string) (faas.Deployment, error) {
	return v.deployment, nil
}

func TestPendingActivationOfAVanishedFunctionIsLost(t *testing.T) {
	deployed := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		deployment faas.Deployment
		deployedAt time.Time
		lost       string // "" when the poller must keep waiting
	}{
		{"the function is gone", faas.Deployment{}, deployed, "disappeared"},
		{"deployed anew since the invocation", faas.Deployment{Exists: true, Updated: deployed.Add(time.Second)}, deployed, "deployed anew"},
		{"the deployment it was invoked on", faas.Deployment{Exists: true, Updated: deployed}, deployed, ""},
		{"an invocation that does not say its deployment", faas.Deployment{Exists: true, Updated: deployed}, time.Time{}, ""},
	}
	ok, _ := json.Marshal(map[string]any{"client": 1, "round": 1, "samples": 600, "loss": 0.25})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The activation finishes after a few looks, each with a check of the function:
			// a poller that gives up too early reports it lost.
			prov := &vanishingProvider{fakeProvider{deployed: true, notReady: 4, activations: map[string]faas.Activation{
				"pending": {ID: "pending", Status: "success", Success: true, Result: ok},
			}}, tt.deployment}
			acts := newActivities(t, prov, nil)
			acts.checkEvery = time.Millisecond
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
			val, err := env.ExecuteActivity(acts.PollActivation, Invocation{Client: 1, ActivationID: "pending", DeployedAt: tt.deployedAt})
			if err != nil {
				t.Fatal(err)
			}
			var run ClientRun
			if err := val.Get(&run); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.lost == "" && !run.Success:
				t.Errorf("the poller gave up on an activation that finished: %+v", run)
			case tt.lost != "" && (run.Success || run.Status != "lost" || !strings.Contains(run.Error, tt.lost)):
				t.Errorf("run %+v, want lost: %s", run, tt.lost)
			}
		})
	}
}

// RunClient invokes and waits in one activity; a retry finds the invocation in its
// heartbeat details and waits for that activation instead of invoking again; a refused
// invocation says so, keeping its retry class.
func TestRunClientInvokesOnceAndResumes(t *testing.T) {
	ok, _ := json.Marshal(map[string]any{"client": 2, "round": 1, "samples": 600, "loss": 0.25})
	prov := &fakeProvider{deployed: true, activations: map[string]faas.Activation{
		"act-1": {ID: "act-1", Status: "success", Success: true, Result: ok},
	}}
	acts := newActivities(t, prov, nil)
	var suite testsuite.WorkflowTestSuite
	run := func(env *testsuite.TestActivityEnvironment) (ClientRun, error) {
		env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
		val, err := env.ExecuteActivity(acts.RunClient, ClientTask{Experiment: "e", Round: 1, Client: 2, Attempt: 1})
		if err != nil {
			return ClientRun{}, err
		}
		var r ClientRun
		return r, val.Get(&r)
	}

	first, err := run(suite.NewTestActivityEnvironment())
	if err != nil {
		t.Fatal(err)
	}
	if !first.Success || first.ActivationID != "act-1" || first.Platform != "openwhisk" || first.Cluster != "local" || first.AcceptedAt.IsZero() {
		t.Fatalf("first run %+v", first)
	}

	retry := suite.NewTestActivityEnvironment()
	accepted := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	retry.SetHeartbeatDetails(Invocation{Client: 2, Platform: "openwhisk", Cluster: "local", Function: "fl_client", ActivationID: "act-1", AcceptedAt: accepted})
	resumed, err := run(retry)
	if err != nil {
		t.Fatal(err)
	}
	if prov.invokes != 1 || !resumed.Success || !resumed.AcceptedAt.Equal(accepted) {
		t.Fatalf("resumed run %+v after %d invocations, want the first activation's result and one invocation", resumed, prov.invokes)
	}

	prov.reject = true
	_, err = run(suite.NewTestActivityEnvironment())
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeRejected || !appErr.NonRetryable() {
		t.Fatalf("refused invocation: %v", err)
	}
	var phase string
	if !appErr.HasDetails() || appErr.Details(&phase) != nil || phase != InvokePhase {
		t.Errorf("the refused invocation is not marked as one (%q)", phase)
	}
}

// checkedProvider is a cluster that says whether its function is deployed, and holds
// every deployment until all of the workers have seen the function missing, so their
// redeployments would overlap.
type checkedProvider struct {
	fakeProvider
	missingSeen int
	allSaw      chan struct{}
	workers     int
}

func (c *checkedProvider) Invoke(ctx context.Context, name string, params any) (string, error) {
	id, err := c.fakeProvider.Invoke(ctx, name, params)
	if errors.Is(err, faas.ErrFunctionMissing) {
		c.mu.Lock()
		if c.missingSeen++; c.missingSeen == c.workers {
			close(c.allSaw)
		}
		c.mu.Unlock()
	}
	return id, err
}

func (c *checkedProvider) Deploy(ctx context.Context, fn faas.Function) error {
	<-c.allSaw
	return c.fakeProvider.Deploy(ctx, fn)
}

func (c *checkedProvider) Deployment(context.Context, string) (faas.Deployment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return faas.Deployment{Exists: c.deployed}, nil
}

// Three workers (each its own activities, as three processes have) find a function
// gone at once: one of them redeploys it, the others wait for it and invoke.
func TestMissingFunctionIsRedeployedOnceAcrossWorkers(t *testing.T) {
	ctx := context.Background()
	srv, err := mongodb.Start(ctx, mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	const workers = 3
	prov := &checkedProvider{allSaw: make(chan struct{}), workers: workers}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		store, err := weights.Connect(ctx, weights.Options{URI: srv.URI(), DB: "t", Collection: "w"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close(ctx) })
		acts := newActivities(t, prov, store)
		acts.deps.Worker = fmt.Sprintf("worker-%d", w)
		acts.redeployPoll = time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
			if _, err := env.ExecuteActivity(acts.InvokeClient, ClientTask{Experiment: "e", Round: 1, Client: w, Attempt: 1}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if prov.deploys != 1 || prov.invokes != workers {
		t.Errorf("%d deployments and %d invocations, want 1 and %d", prov.deploys, prov.invokes, workers)
	}
}
