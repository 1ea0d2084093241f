package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

// clientFabric is a cluster whose activations finish at once, answering for the client
// the request names: a client listed in failFirst fails its first activation, one in
// hang never finishes.
type clientFabric struct {
	mu        sync.Mutex
	failFirst map[int]bool
	hang      map[int]bool
	invokes   map[int]int       // per client
	clientOf  map[string]int    // activation ID → client
	attempt   map[string]int    // activation ID → that client's invocation count
	polled    map[string]bool   // activation IDs asked about
	extra     map[string]string // activation ID → result text, for ones made outside Invoke
	sums      map[int]string    // client → the update checksum its result reports
	order     []int             // clients in the order they were invoked
}

func newClientFabric() *clientFabric {
	return &clientFabric{failFirst: map[int]bool{}, hang: map[int]bool{}, invokes: map[int]int{},
		clientOf: map[string]int{}, attempt: map[string]int{}, polled: map[string]bool{}, extra: map[string]string{}, sums: map[int]string{}}
}

func (f *clientFabric) Deploy(context.Context, faas.Function) error { return nil }
func (f *clientFabric) Remove(context.Context, string) error        { return nil }

func (f *clientFabric) Invoke(_ context.Context, _ string, params any) (string, error) {
	req, ok := params.(invocation.Request)
	if !ok {
		return "", fmt.Errorf("params %T", params)
	}
	var task struct {
		Client int `json:"client"`
	}
	if err := json.Unmarshal([]byte(req.Task), &task); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.order = append(f.order, task.Client)
	f.invokes[task.Client]++
	id := fmt.Sprintf("c%d-%d", task.Client, f.invokes[task.Client])
	f.clientOf[id], f.attempt[id] = task.Client, f.invokes[task.Client]
	return id, nil
}

func (f *clientFabric) Activation(_ context.Context, _, id string) (faas.Activation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polled[id] = true
	if text, ok := f.extra[id]; ok {
		return faas.Activation{ID: id, Status: "success", Success: true, Result: json.RawMessage(text)}, nil
	}
	client, ok := f.clientOf[id]
	switch {
	case !ok || f.hang[client]:
		return faas.Activation{}, faas.ErrNotReady
	case f.failFirst[client] && f.attempt[id] == 1:
		return faas.Activation{ID: id, Status: "application error", Result: json.RawMessage(`{"error":"boom"}`)}, nil
	}
	return faas.Activation{ID: id, Status: "success", Success: true,
		Result: json.RawMessage(fmt.Sprintf(`{"client":%d,"samples":10,"update_sha256":%q}`, client, f.sums[client]))}, nil
}

func (f *clientFabric) count(client int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.invokes[client]
}

func batchOf(clients ...int) BatchTask {
	task := BatchTask{MaxAttempts: 3}
	for _, c := range clients {
		task.Clients = append(task.Clients, ClientTask{Experiment: "e", Round: 1, Client: c})
	}
	return task
}

func runBatch(t *testing.T, acts *Activities, task BatchTask, heartbeat []batchSlot) (BatchResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	if heartbeat != nil {
		env.SetHeartbeatDetails(heartbeat)
	}
	val, err := env.ExecuteActivity(acts.RunBatch, task)
	if err != nil {
		return BatchResult{}, err
	}
	var res BatchResult
	return res, val.Get(&res)
}

// Each client of a batch keeps its own attempts: one that fails is invoked again and
// both runs are recorded; the others are invoked once.
func TestBatchRetriesEachClientOnItsOwn(t *testing.T) {
	fab := newClientFabric()
	fab.failFirst[2] = true
	acts := newActivities(t, fab, nil)
	res, err := runBatch(t, acts, batchOf(0, 1, 2, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, rec := range res.Clients {
		wantAttempts := 1
		if rec.Client == 2 {
			wantAttempts = 2
		}
		if rec.Client != k || !rec.Counted || rec.Attempts != wantAttempts || len(rec.Runs) != wantAttempts || fab.count(k) != wantAttempts {
			t.Errorf("client %d: %+v, invoked %d times; want counted after %d attempts", k, rec.ClientAttempts, fab.count(k), wantAttempts)
		}
		if rec.AcceptedAt.IsZero() || rec.DoneAt.Before(rec.AcceptedAt) {
			t.Errorf("client %d accepted %v, done %v", k, rec.AcceptedAt, rec.DoneAt)
		}
	}
	if first := res.Clients[2].Runs[0]; first.Success || !strings.Contains(first.Error, "boom") {
		t.Errorf("client 2's first run %+v, want the failed activation", first)
	}
}

// A retried batch resumes from its heartbeats: a finished client is not invoked
// again, a running one is awaited on its invocation, not invoked a second time.
func TestRetriedBatchResumesItsClients(t *testing.T) {
	fab := newClientFabric()
	fab.extra["old-1"] = `{"client":1,"samples":10}`
	acts := newActivities(t, fab, nil)
	done := ClientAttempts{Client: 0, Attempts: 1, Counted: true, Runs: []ClientRun{{Client: 0, Success: true, Samples: 10}}}
	heartbeat := []batchSlot{
		{Rec: done, Done: true, DoneAt: time.Now()},
		{Rec: ClientAttempts{Client: 1}, Attempt: 1, Running: &Invocation{Client: 1, Platform: "openwhisk", Cluster: "local", Function: "fl_client", ActivationID: "old-1"}},
		{Rec: ClientAttempts{Client: 2}},
	}
	res, err := runBatch(t, acts, batchOf(0, 1, 2), heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	if fab.count(0) != 0 || fab.count(1) != 0 || fab.count(2) != 1 {
		t.Errorf("invocations %v: want only client 2, the one not yet invoked", fab.invokes)
	}
	if !fab.polled["old-1"] || !res.Clients[1].Counted || res.Clients[1].Runs[0].ActivationID != "old-1" {
		t.Errorf("client 1: %+v; want its checkpointed activation awaited and counted", res.Clients[1].ClientAttempts)
	}
	if !res.Clients[0].Counted || len(res.Clients[0].Runs) != 1 || !res.Clients[2].Counted {
		t.Errorf("clients 0 and 2: %+v %+v", res.Clients[0].ClientAttempts, res.Clients[2].ClientAttempts)
	}
}

// At the round's deadline a batch that drops late updates drops its clients still
// running, and gives back the ones that finished.
func TestBatchDropsClientsStillRunningAtTheDeadline(t *testing.T) {
	fab := newClientFabric()
	fab.hang[1] = true
	acts := newActivities(t, fab, nil)
	task := batchOf(0, 1)
	task.NoRetryAfter = time.Now().Add(time.Second)
	task.DropAt = task.NoRetryAfter
	res, err := runBatch(t, acts, task, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Clients[0].Counted || res.Clients[0].Dropped {
		t.Errorf("client 0: %+v, want counted", res.Clients[0].ClientAttempts)
	}
	if !res.Clients[1].Dropped || res.Clients[1].Counted || fab.count(1) != 1 {
		t.Errorf("client 1: %+v, invoked %d times; want dropped after one invocation", res.Clients[1].ClientAttempts, fab.count(1))
	}
}

// Past the round's deadline a failed client is not invoked again.
func TestBatchInvokesNoClientAgainPastTheDeadline(t *testing.T) {
	fab := newClientFabric()
	fab.failFirst[0] = true
	acts := newActivities(t, fab, nil)
	task := batchOf(0)
	task.NoRetryAfter = time.Now().Add(-time.Second)
	res, err := runBatch(t, acts, task, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := res.Clients[0]
	if rec.Counted || fab.count(0) != 1 || !strings.Contains(rec.Error, "not invoked again: the round's deadline passed") {
		t.Errorf("%+v, invoked %d times; want one failed attempt and no other", rec.ClientAttempts, fab.count(0))
	}
}

// A batch folds its counted clients' stored updates into a partial sum for the
// aggregation; a resumed batch rebuilds it from the stored updates, so the clients it
// finished before it stopped are in it once, and a client whose stored update is not
// the attempt it counted stays out (the aggregation reads that one itself).
func TestBatchFoldsItsUpdatesAndRebuildsTheSumOnResume(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	spec := model.Spec{Kind: model.MLP, Hidden: 1}
	manifest, _ := spec.Manifest()
	fab := newClientFabric()
	for c, attempt := range []int{1, 1, 2} {
		params := make([]float32, model.NumParams(manifest))
		for i := range params {
			params[i] = float32(c)
		}
		_, fab.sums[c] = weights.Encode(params)
		if _, err := store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: 1, Client: c, Attempt: attempt, Samples: 10,
			Manifest: manifest, Params: params}); err != nil {
			t.Fatal(err)
		}
	}
	acts := newActivities(t, fab, store)
	task := batchOf(0, 1, 2)
	task.Fold = true
	for i := range task.Clients {
		task.Clients[i].Model = spec
	}
	done := ClientAttempts{Client: 0, Attempts: 1, Counted: true, Runs: []ClientRun{{Client: 0, Success: true, Samples: 10, UpdateSHA256: fab.sums[0]}}}
	res, err := runBatch(t, acts, task, []batchSlot{{Rec: done, Done: true}, {Rec: ClientAttempts{Client: 1}}, {Rec: ClientAttempts{Client: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Partial != "b0" {
		t.Fatalf("partial %q, want b0", res.Partial)
	}
	p, err := store.GetPartial(ctx, "e", 1, res.Partial, res.PartialDigest)
	if err != nil {
		t.Fatal(err)
	}
	var clients []int
	for _, r := range p.Refs {
		clients = append(clients, r.Client)
	}
	// Client 2 counted attempt 1, but attempt 2's update is stored.
	if fmt.Sprint(clients) != "[0 1]" || p.Samples != 20 || p.Sum[0] != 10 {
		t.Errorf("partial of clients %v, %d samples, sum %v; want clients 0 and 1, 20 samples, sum 0·10 + 1·10", clients, p.Samples, p.Sum[0])
	}
}

// A batch folds its updates in its own order whatever order its clients finish in, so
// the sum (float additions do not commute bit for bit) is the same in every run.
func TestBatchSumIsTheSameBitsInAnyFinishingOrder(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	spec := model.Spec{Kind: model.MLP, Hidden: 1}
	manifest, _ := spec.Manifest()
	task := BatchTask{Fold: true}
	var recs []ClientAttempts
	for c, v := range []float32{1e7, 0.3, -1e7, 0.7} {
		params := make([]float32, model.NumParams(manifest))
		for i := range params {
			params[i] = v * float32(i+1)
		}
		if _, err := store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: 1, Client: c, Attempt: 1, Samples: 3 + c,
			Manifest: manifest, Params: params}); err != nil {
			t.Fatal(err)
		}
		_, sum := weights.Encode(params)
		task.Clients = append(task.Clients, ClientTask{Experiment: "e", Round: 1, Client: c, Model: spec})
		recs = append(recs, ClientAttempts{Client: c, Attempts: 1, Counted: true, Runs: []ClientRun{{Success: true, Samples: 3 + c, UpdateSHA256: sum}}})
	}
	acts := newActivities(t, newClientFabric(), store)
	var sums [][]float64
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 1, 2, 0}, {2, 0, 3, 1}} {
		s := newBatchSum(acts, task)
		zeroDone := false
		for _, i := range order {
			s.done(ctx, i, recs[i], nil)
			zeroDone = zeroDone || i == 0
			if !zeroDone && len(s.refs) > 0 {
				t.Errorf("order %v: folded %d updates before client 0 finished", order, len(s.refs))
			}
		}
		if len(s.refs) != 4 {
			t.Fatalf("order %v folded %d updates", order, len(s.refs))
		}
		sums = append(sums, slices.Clone(s.acc.Partial().Sum))
	}
	for _, sum := range sums[1:] {
		if !slices.Equal(sum, sums[0]) {
			t.Errorf("sums differ by finishing order: %v… and %v…", sum[:3], sums[0][:3])
		}
	}
}

// An update's bytes that its result carried are folded without reading the store, but
// only when they are what the reported checksum names; others are read from the store.
func TestBatchSumFoldsTheBytesAResultCarried(t *testing.T) {
	ctx := context.Background()
	spec := model.Spec{Kind: model.MLP, Hidden: 1}
	manifest, _ := spec.Manifest()
	params := make([]float32, model.NumParams(manifest))
	for i := range params {
		params[i] = float32(i)
	}
	data, sum := weights.Encode(params)
	forged := slices.Clone(data)
	forged[0]++
	tests := []struct {
		name    string
		stored  bool
		carried []byte
		folded  bool
	}{
		{"carried, nothing stored", false, data, true},
		{"carried bytes other than the checksum names, stored", true, forged, true},
		{"carried bytes other than the checksum names, nothing stored", false, forged, false},
		{"nothing carried, stored", true, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t)
			if tc.stored {
				if _, err := store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: 1, Client: 0, Attempt: 1, Samples: 5,
					Manifest: manifest, Params: params}); err != nil {
					t.Fatal(err)
				}
			}
			task := BatchTask{Fold: true, Clients: []ClientTask{{Experiment: "e", Round: 1, Client: 0, Model: spec}, {Experiment: "e", Round: 1, Client: 1, Model: spec}}}
			s := newBatchSum(newActivities(t, newClientFabric(), store), task)
			rec := ClientAttempts{Client: 0, Attempts: 1, Counted: true, Runs: []ClientRun{{Success: true, Samples: 5, UpdateSHA256: sum}}}
			s.done(ctx, 0, rec, tc.carried)
			if got := len(s.refs) == 1; got != tc.folded {
				t.Fatalf("folded %v, want %v", got, tc.folded)
			}
			if tc.folded && s.acc.Partial().Sum[3] != 5*3 {
				t.Errorf("sum %v…, want the update weighted by its 5 samples", s.acc.Partial().Sum[:4])
			}
		})
	}
}

// A batch invokes its clients in its own order, the order it folds their updates in,
// each once the one turnsAhead before it was invoked: never more than that out of order.
func TestBatchInvokesItsClientsInOrder(t *testing.T) {
	fab := newClientFabric()
	acts := newActivities(t, fab, nil)
	acts.turnWait = time.Hour // the order, not the bound, is under test
	clients := make([]int, 100)
	for i := range clients {
		clients[i] = i
		if i >= len(acts.placements) {
			p := acts.placements[0]
			p.Client = i
			acts.placements = append(acts.placements, p)
		}
	}
	if _, err := runBatch(t, acts, batchOf(clients...), nil); err != nil {
		t.Fatal(err)
	}
	for pos, c := range fab.order {
		if c < pos-turnsAhead+1 || c > pos+turnsAhead-1 {
			t.Fatalf("client %d invoked as number %d: %v", c, pos, fab.order)
		}
	}
	if len(fab.order) != len(clients) {
		t.Fatalf("invoked %v", fab.order)
	}
}
