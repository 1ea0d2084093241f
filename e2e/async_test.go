package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/weights"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// asyncConfig is six clients, four on OpenWhisk and two on an edge cluster whose
// every activation first waits 2 s: the stragglers of semi-asynchronous rounds of four
// that aggregate after two updates.
const asyncConfig = `name: async
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 4
temporal:
  task_queue: async
  ui_port: -1
stop:
  max_rounds: 10
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
  openfaas:
    edge:
      gateway: embedded
      fabric:
        faults:
          delay: 2s
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 6
      num_clients_per_round: 4
      ow_clients_count: 4
      edge_clients_count: 2
    data_sampling:
      model: mlp
      distribution: iid
    model_params:
      optim: sgd
      lr: 0.05
      local_epochs: 1
    round:
      mode: semi_async
      min_updates: 2
      max_staleness: 10
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          timeout: 180000
        openfaas:
          func_path: %[2]s/functions/openfaas
          timeout: 180s
`

// Semi-asynchronous rounds on the real stack: no round waits for the slow edge
// clients, their updates arrive after their round and are folded into a later version
// (recorded with it), a busy client is never invited twice at once, and no update is
// lost: every successful run is counted fresh, folded late, or still waiting after the
// last round.
func TestSemiAsyncRounds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	resolved, c, _ := stackWithWorker(ctx, t, asyncConfig)

	outcome, err := runner.Run(ctx, c, resolved, runner.Options{Poll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res := outcome.Result
	if len(res.Rounds) != 10 || res.FinalAccuracy < 0.8 {
		t.Fatalf("%d rounds, final accuracy %.4f", len(res.Rounds), res.FinalAccuracy)
	}
	stale, running := 0, 0
	for _, r := range res.Rounds {
		stale += r.Stale
		running += r.Running
		if r.Counted < 2 {
			t.Errorf("round %d counted %d updates, want at least 2", r.Round, r.Counted)
		}
	}
	t.Logf("%d clients still running at an aggregation, %d late updates folded, final accuracy %.4f", running, stale, res.FinalAccuracy)
	if running == 0 || stale == 0 {
		t.Fatalf("%d clients were still running at an aggregation and %d late updates were folded; want both", running, stale)
	}
	checkNoUpdateLost(ctx, t, c, resolved, res)
	if os.Getenv("FEDKEEPER_RECORD_HISTORY") != "" {
		testdata := filepath.Join(repoRoot(t), "workflows", "testdata")
		recordHistory(ctx, t, c, res.Experiment, filepath.Join(testdata, "async_experiment_history.json"))
		recordHistory(ctx, t, c, workflows.RoundWorkflowID(res.Experiment, 1), filepath.Join(testdata, "async_round_history.json"))
	}
}

// checkNoUpdateLost follows every successful activation of a semi-asynchronous
// experiment: its update was aggregated in its round, folded into a later version
// (the version records it), or is still waiting in the store; and no client ran in two
// rounds at once.
func checkNoUpdateLost(ctx context.Context, t *testing.T, c client.Client, cfg *config.Config, res workflows.ExperimentResult) {
	t.Helper()
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	store, err := weights.Connect(ctx, weights.Options{URI: mc.URL, DB: mc.DB, Collection: mc.Collection, TensorDir: mc.TensorDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	late := map[weights.UpdateRef]bool{}
	for v := 1; v <= len(res.Rounds); v++ {
		info, err := store.GlobalInfo(ctx, res.Experiment, v)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range info.Late {
			late[weights.UpdateRef{Round: ref.Round, Client: ref.Client}] = true
		}
	}
	pending, err := store.PendingUpdates(ctx, res.Experiment, len(res.Rounds)+1)
	if err != nil {
		t.Fatal(err)
	}
	waiting := map[weights.UpdateRef]bool{}
	for _, ref := range pending {
		waiting[weights.UpdateRef{Round: ref.Round, Client: ref.Client}] = true
	}
	type span struct{ start, end time.Time }
	busy := map[int][]span{}
	for round := 1; round <= len(res.Rounds); round++ {
		var rr workflows.RoundResult
		if err := c.GetWorkflow(ctx, workflows.RoundWorkflowID(res.Experiment, round), "").Get(ctx, &rr); err != nil {
			t.Fatal(err)
		}
		info, err := store.GlobalInfo(ctx, res.Experiment, round)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range rr.Outcomes {
			if len(o.Runs) == 0 {
				continue
			}
			last := o.Runs[len(o.Runs)-1]
			busy[o.Client] = append(busy[o.Client], span{o.Runs[0].Start, last.End})
			ref := weights.UpdateRef{Round: round, Client: o.Client}
			switch {
			case !last.Success:
			case o.Counted && slices.Contains(info.Clients, o.Client):
			case o.Late && (late[ref] || waiting[ref]):
			default:
				t.Errorf("round %d client %d: its update was neither aggregated, folded late nor kept (%+v)", round, o.Client, o)
			}
		}
	}
	for client, spans := range busy {
		slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
		for i := 1; i < len(spans); i++ {
			if spans[i].start.Before(spans[i-1].end) {
				t.Errorf("client %d ran in two rounds at once: %v", client, spans)
			}
		}
	}
}
