// Command chaos is FedKeeper's chaos suite: it runs the same seeded experiment on the
// embedded stack (clients on OpenWhisk, Cloud Functions and an OpenFaaS edge whose
// weights are relayed) once without faults and once per fault scenario, with the local
// fabrics injecting crashes, hangs, error results, 5xx answers, throttling, slow cold
// starts and deletions. It prints a table and fails if any update was lost or counted
// twice. Run it from the repository root: `make chaos`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/weights"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// base is the experiment every scenario runs; %[2]s are the fabrics' faults.
const base = `name: chaos
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 11
temporal:
  task_queue: chaos
  ui_port: -1
stop:
  max_rounds: %[3]d
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
      fabric:
        faults: %[2]s
  google:
    local:
      api_endpoint: embedded
      fabric:
        faults: %[2]s
  openfaas:
    edge:
      gateway: embedded
      relay_weights: true
      fabric:
        faults: %[2]s
  aws:
    lab:
      endpoint: embedded
      fabric:
        faults: %[2]s
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 8
      num_clients_per_round: 8
      ow_clients_count: 2
      gcf_clients_count: 2
      edge_clients_count: 2
      lambda_clients_count: 2
    data_sampling:
      distribution: iid
    model_params:
      optim: sgd
      lr: 0.05
    round:
      max_attempts: 12
      min_clients_fraction: 0.5
    functions:
      fl_client:
        openwhisk:
          func_path: ./functions/openwhisk
          timeout: 10000
        google:
          func_path: ./functions/gcf
          timeout: 10s
        openfaas:
          func_path: ./functions/openfaas
          timeout: 10s
        aws:
          func_path: ./functions/lambda
          timeout: 10s
`

type scenario struct {
	name   string
	faults faults.Faults
}

var scenarios = []scenario{
	{"no faults", faults.Faults{}},
	{"crashes 20%", faults.Faults{CrashRate: 0.2, Seed: 1}},
	{"hangs 20%", faults.Faults{HangRate: 0.2, Seed: 12}},
	{"error results 20%", faults.Faults{ErrorRate: 0.2, Seed: 3}},
	{"5xx answers 20%", faults.Faults{ServerErrorRate: 0.2, Seed: 4}},
	{"throttling 30%", faults.Faults{ThrottleRate: 0.3, Seed: 5}},
	{"deletions 10%, cold starts +1s", faults.Faults{DeleteRate: 0.1, ColdStartDelay: "1s", Seed: 6}},
	{"all of them", faults.Faults{CrashRate: 0.1, HangRate: 0.1, ErrorRate: 0.1, ServerErrorRate: 0.1,
		ThrottleRate: 0.1, DeleteRate: 0.1, ColdStartDelay: "500ms", Seed: 19}},
}

// row is one scenario's line of the table.
type row struct {
	name         string
	injected     map[faults.Kind]int
	rounds       int
	reinvoked    int
	lost         int
	twice        int
	accuracy     float64
	seconds      float64
	err          error
	clientsShort int
}

func main() {
	os.Exit(run())
}

func run() int {
	rounds := flag.Int("rounds", 4, "rounds per experiment")
	only := flag.String("only", "", "run only scenarios whose name contains this")
	out := flag.String("out", "results/chaos.md", "where to write the table (markdown)")
	flag.Parse()
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var rows []row
	for _, sc := range scenarios {
		if *only != "" && sc.name != "no faults" && !strings.Contains(sc.name, *only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "running %q…\n", sc.name)
		rows = append(rows, runScenario(ctx, root, sc, *rounds, logger))
	}
	table := render(rows)
	fmt.Print(table)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
		_ = os.WriteFile(*out, []byte(table), 0o644)
	}
	for _, r := range rows {
		if r.err != nil || r.lost != 0 || r.twice != 0 {
			fmt.Fprintln(os.Stderr, "chaos: FAILED")
			return 1
		}
	}
	return 0
}

func runScenario(ctx context.Context, root string, sc scenario, rounds int, logger *slog.Logger) row {
	r := row{name: sc.name}
	dir, err := os.MkdirTemp("", "fedkeeper-chaos-")
	if err != nil {
		r.err = err
		return r
	}
	defer os.RemoveAll(dir)
	faultsYAML := fmt.Sprintf("{crash_rate: %v, hang_rate: %v, error_rate: %v, server_error_rate: %v, throttle_rate: %v, delete_rate: %v, cold_start_delay: %q, seed: %d}",
		sc.faults.CrashRate, sc.faults.HangRate, sc.faults.ErrorRate, sc.faults.ServerErrorRate, sc.faults.ThrottleRate,
		sc.faults.DeleteRate, sc.faults.ColdStartDelay, sc.faults.Seed)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(base, dir, faultsYAML, rounds)), 0o600); err != nil {
		r.err = err
		return r
	}
	cfg, err := config.Load(path)
	if err != nil {
		r.err = err
		return r
	}
	stack, err := embedded.Start(ctx, cfg, embedded.Options{FreePorts: true, Logger: logger})
	if err != nil {
		r.err = err
		return r
	}
	defer stack.Stop()
	resolved := stack.Endpoints.Apply(cfg)
	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		r.err = err
		return r
	}
	defer c.Close()
	stopWorker, err := bootstrap.StartWorker(ctx, c, resolved, root, logger)
	if err != nil {
		r.err = err
		return r
	}
	defer stopWorker()
	start := time.Now()
	outcome, err := runner.Run(ctx, c, resolved, runner.Options{Poll: 250 * time.Millisecond})
	r.seconds = time.Since(start).Seconds()
	r.injected = stack.Injected()
	if err != nil {
		r.err = err
		return r
	}
	r.rounds = len(outcome.Result.Rounds)
	r.accuracy = outcome.Result.FinalAccuracy
	r.err = audit(ctx, c, resolved, outcome.Result, &r)
	return r
}

// audit compares two records that nothing derives from each other: the keeper's
// activation records (every client's runs, in each round's result) and MongoDB's audit
// of the updates each global version counted (GlobalInfo.Counted).
func audit(ctx context.Context, c client.Client, cfg *config.Config, res workflows.ExperimentResult, r *row) error {
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	store, err := weights.Connect(ctx, weights.Options{URI: mc.URL, DB: mc.DB, Collection: mc.Collection, TensorDir: mc.TensorDirectory()})
	if err != nil {
		return err
	}
	defer store.Close(context.Background())
	infos, err := store.ListGlobals(ctx, res.Experiment)
	if err != nil {
		return err
	}
	var activations []activation
	for round := 1; round <= len(res.Rounds); round++ {
		var rr workflows.RoundResult
		if err := c.GetWorkflow(ctx, workflows.RoundWorkflowID(res.Experiment, round), "").Get(ctx, &rr); err != nil {
			return err
		}
		r.reinvoked += rr.Retries
		counted := 0
		for _, o := range rr.Outcomes {
			for attempt, run := range o.Runs {
				activations = append(activations, activation{round: round, client: o.Client, attempt: attempt + 1, success: run.Success, samples: run.Samples})
			}
			if o.Counted {
				counted++
			}
		}
		r.clientsShort += len(rr.Selected) - counted
	}
	a := tally(activations, infos)
	r.lost, r.twice = a.lost, a.twice
	if len(a.problems) > 0 {
		fmt.Fprintln(os.Stderr, strings.Join(a.problems, "\n"))
	}
	return nil
}

// activation is one run of a client, as the keeper recorded it.
type activation struct {
	round, client, attempt int
	success                bool
	samples                int
}

// auditResult counts what the two records disagree on, and says where.
type auditResult struct {
	lost, twice int
	problems    []string
}

// tally compares the activations with the versions' audits. An update is lost when a
// client's activation of a round succeeded and no version counted that client's
// update of the round; it is counted twice when versions count one client's update of
// a round more than once, count an attempt that did not succeed, or hold more samples
// than the updates they list.
func tally(activations []activation, versions []weights.GlobalInfo) auditResult {
	type roundClient struct{ round, client int }
	succeeded := map[roundClient]map[int]int{} // attempt -> samples
	for _, act := range activations {
		if act.success {
			k := roundClient{act.round, act.client}
			if succeeded[k] == nil {
				succeeded[k] = map[int]int{}
			}
			succeeded[k][act.attempt] = act.samples
		}
	}
	var res auditResult
	counted := map[roundClient]int{}
	for _, v := range versions {
		samples := 0
		for _, ref := range v.Counted {
			k := roundClient{ref.Round, ref.Client}
			counted[k]++
			samples += ref.Samples
			if n, ok := succeeded[k][ref.Attempt]; !ok || n != ref.Samples {
				res.twice++
				res.problems = append(res.problems, fmt.Sprintf("v%d counts client %d's round %d attempt %d (%d samples), which did not succeed with them", v.Version, ref.Client, ref.Round, ref.Attempt, ref.Samples))
			}
		}
		if v.Version > 0 && v.Samples != samples {
			res.twice++
			res.problems = append(res.problems, fmt.Sprintf("v%d holds %d samples, its counted updates %d", v.Version, v.Samples, samples))
		}
	}
	for k, n := range counted {
		if n > 1 {
			res.twice += n - 1
			res.problems = append(res.problems, fmt.Sprintf("client %d's update of round %d is counted %d times", k.client, k.round, n))
		}
	}
	for k := range succeeded {
		if counted[k] == 0 {
			res.lost++
			res.problems = append(res.problems, fmt.Sprintf("client %d's update of round %d succeeded and no version counts it", k.client, k.round))
		}
	}
	return res
}

func render(rows []row) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| scenario\t faults injected\t rounds\t re-invocations\t clients given up\t updates lost\t counted twice\t final accuracy\t wall s\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	var baseline float64
	for i, r := range rows {
		if i == 0 {
			baseline = r.accuracy
		}
		acc := fmt.Sprintf("%.4f", r.accuracy)
		if i > 0 {
			acc += fmt.Sprintf(" (fault-free %.4f)", baseline)
		}
		if r.err != nil {
			acc = "FAILED: " + r.err.Error()
		}
		fmt.Fprintf(tw, "| %s\t %s\t %d\t %d\t %d\t %d\t %d\t %s\t %.0f\t\n", r.name, injected(r.injected), r.rounds, r.reinvoked, r.clientsShort, r.lost, r.twice, acc, r.seconds)
	}
	tw.Flush()
	return b.String()
}

func injected(m map[faults.Kind]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%d %s", v, strings.ReplaceAll(string(k), "_", " ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
