package e2e

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/compare"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/mclr"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/runner"
)

// syntheticConfig is the FedProx paper's experiment in small: Synthetic(1, 1) over 8
// devices, 4 a round, half of them stragglers, mclr with 4 local epochs. The devices
// alternate between FedKeeper's Go client and the Python SDK's numpy client
// (examples/python-mclr), both on the embedded OpenWhisk cluster.
const syntheticConfig = `name: synthetic
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 4
temporal:
  task_queue: synthetic
  ui_port: -1
stop:
  max_rounds: 3
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 8
      num_clients_per_round: 4
      client_functions: [fl_client, py_mclr]
    data_sampling:
      dataset: synthetic
      alpha: 1
      beta: 1
    model_params:
      optim: sgd
      lr: 0.05
      local_epochs: 4
    stragglers:
      fraction: 0.5
    round:
      min_clients_fraction: 1
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          timeout: 120000
      py_mclr:
        openwhisk:
          func_path: %[2]s/examples/python-mclr/openwhisk
          timeout: 120000
`

// A synthetic experiment runs on the embedded stack with Go and Python clients
// generating their own devices: accuracy rises far above the initial model's, every
// round marks the same stragglers for FedAvg and FedProx, FedAvg leaves them out and
// FedProx counts their fewer epochs, and the round records and clients.csv say so.
func TestSyntheticStragglersEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	resolved, c, _ := stackWithWorker(ctx, t, syntheticConfig)
	set := compare.Set{Name: "stragglers", Title: "e2e", Variants: []compare.Variant{
		{Name: "fedavg", Apply: func(fl *config.FederatedLearning) { fl.Strategy = config.Strategy{Name: strategy.FedAvg} }},
		{Name: "fedprox", Apply: func(fl *config.FederatedLearning) {
			fl.Strategy = config.Strategy{Name: strategy.FedProx, ProximalMu: 1}
		}},
	}}
	began := time.Now()
	curves, err := compare.Run(ctx, c, resolved, set, compare.Options{Poll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("two experiments of 3 rounds in %.1f s", time.Since(began).Seconds())
	initial := initialAccuracy(ctx, t, resolved)
	stragglers := map[string][][]int{}
	for _, cv := range curves {
		if cv.Err != "" || len(cv.Rounds) != 3 {
			t.Fatalf("%s: %d rounds, error %q", cv.Variant, len(cv.Rounds), cv.Err)
		}
		t.Logf("%s: accuracy %.4f → %.4f, training loss %.4f → %.4f", cv.Variant, initial, cv.Final(), cv.Rounds[0].Loss, cv.FinalLoss())
		if cv.Final() < 0.4 || cv.Final() < initial+0.25 {
			t.Errorf("%s reached %.4f from %.4f: it should have learnt far above chance", cv.Variant, cv.Final(), initial)
		}
		stragglers[cv.Variant] = checkStragglerRounds(ctx, t, c, cv, cv.Variant == "fedprox")
		checkStragglerCSV(t, resolved, cv, cv.Variant == "fedprox")
	}
	if !slices.EqualFunc(stragglers["fedavg"], stragglers["fedprox"], slices.Equal[[]int]) {
		t.Errorf("FedAvg's stragglers %v, FedProx's %v: paired runs share them", stragglers["fedavg"], stragglers["fedprox"])
	}
}

// initialAccuracy scores version 0 (the experiment's seeded mclr) on every device.
func initialAccuracy(ctx context.Context, t *testing.T, cfg *config.Config) float64 {
	t.Helper()
	manifest, _ := arch.Spec{Kind: arch.MCLR}.Manifest()
	ev, err := mclr.NewEvaluator(synthetic.Spec{Alpha: 1, Beta: 1, Devices: 8, Seed: uint64(cfg.Seed)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ev.Evaluate(ctx, arch.Init(manifest, uint64(cfg.Seed)))
	if err != nil {
		t.Fatal(err)
	}
	return m.Accuracy
}

// checkStragglerRounds checks each round's record of a curve: two stragglers of four,
// each given 1..3 epochs, counted with their runs under FedProx and not invoked under
// FedAvg; both languages' clients counted. It returns each round's stragglers.
func checkStragglerRounds(ctx context.Context, t *testing.T, c client.Client, cv compare.Curve, keep bool) [][]int {
	t.Helper()
	var marked [][]int
	functions := map[string]bool{}
	for _, summary := range cv.Rounds {
		rec, err := runner.RoundRecord(ctx, c, cv.Experiment, summary.Round)
		if err != nil {
			t.Fatal(err)
		}
		want := selection.StragglerCount(4, 0.5)
		counted := 4
		if !keep {
			counted -= want
		}
		if rec.Stragglers != want || rec.Counted != counted {
			t.Errorf("%s round %d: %d stragglers, %d counted; want %d and %d", cv.Variant, summary.Round, rec.Stragglers, rec.Counted, want, counted)
		}
		var these []int
		for _, o := range rec.Outcomes {
			if o.Counted {
				functions[o.Function] = true
			}
			if !o.Straggler {
				continue
			}
			these = append(these, o.Client)
			if o.Epochs < 1 || o.Epochs > 3 || o.Counted != keep || (len(o.Runs) > 0) != keep {
				t.Errorf("%s round %d: straggler %+v", cv.Variant, summary.Round, o)
			}
		}
		marked = append(marked, these)
	}
	if !functions["fl_client"] || !functions["py_mclr"] {
		t.Errorf("%s counted updates of %v; want the Go and the Python client", cv.Variant, functions)
	}
	return marked
}

// checkStragglerCSV reads a curve's clients.csv: a straggler FedAvg dropped has its
// line, one FedProx ran has its epochs beside its activation.
func checkStragglerCSV(t *testing.T, cfg *config.Config, cv compare.Curve, keep bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(cfg.ResultsDir, cv.Experiment, "clients.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || !slices.Equal(rows[0], report.ClientsHeader) {
		t.Fatalf("clients.csv: %v", err)
	}
	col := func(name string) int { return slices.Index(report.ClientsHeader, name) }
	dropped, ran := 0, 0
	for _, row := range rows[1:] {
		epochs := row[col("straggler_epochs")]
		if epochs == "" {
			continue
		}
		if n, err := strconv.Atoi(epochs); err != nil || n < 1 || n > 3 {
			t.Errorf("straggler_epochs %q", epochs)
		}
		if row[col("status")] == report.StatusStragglerDropped {
			dropped++
		} else if row[col("counted")] == "true" {
			ran++
		}
	}
	want := 3 * selection.StragglerCount(4, 0.5)
	if keep && (ran != want || dropped != 0) || !keep && (dropped != want || ran != 0) {
		t.Errorf("%s's clients.csv: %d stragglers dropped and %d counted, want %d of one kind", cv.Variant, dropped, ran, want)
	}
}
