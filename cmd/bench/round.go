package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/bench"
	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// roundSetup is one experiment the round benchmarks run: n clients on the embedded
// OpenWhisk fabric, each training an MLP of `hidden` units on `samples` images.
type roundSetup struct {
	name            string
	clients, hidden int
	samples, epochs int
	containers      int
	rounds          int // 0: two
}

const roundConfig = `name: bench
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 1
temporal:
  task_queue: bench
  ui_port: -1
metrics:
  listen: "off"
stop:
  max_rounds: %[8]d
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
      fabric:
        max_containers: %[7]d
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: %[3]d
      num_clients_per_round: %[3]d
      ow_clients_count: %[3]d
    data_sampling:
      model: mlp
      hidden_size: %[4]d
      distribution: iid
      shards_per_client: 1
      shard_size: %[5]d
      batch_size: 10
    model_params:
      optim: sgd
      lr: 0.1
      local_epochs: %[6]d
    round:
      min_clients_fraction: 1
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          timeout: 600000
`

// roundOverhead runs two rounds of the setup through the whole keeper (embedded
// Temporal, FerretDB, the OpenWhisk fabric, real client processes) and measures the
// second, warm one: the time the round took beyond its clients' work (the span from the
// first activation's start to the last one's end) and the aggregation and evaluation.
func roundOverhead(ctx context.Context, root, dir string, s roundSetup) (overhead, total, clientSpan float64, runs runStats, err error) {
	c, out, stop, err := runSetup(ctx, root, dir, s)
	if err != nil {
		return 0, 0, 0, runs, err
	}
	defer stop()
	rec, err := runner.RoundRecord(ctx, c, out.Result.Experiment, 2)
	if err != nil {
		return 0, 0, 0, runs, err
	}
	var first, last time.Time
	for _, o := range rec.Outcomes {
		for _, r := range o.Runs {
			if r.Start.IsZero() || r.End.IsZero() {
				continue
			}
			if first.IsZero() || r.Start.Before(first) {
				first = r.Start
			}
			if r.End.After(last) {
				last = r.End
			}
			runs.n++
			runs.seconds += r.End.Sub(r.Start).Seconds()
			if r.ColdStart {
				runs.cold++
			}
		}
	}
	if first.IsZero() || rec.Counted != s.clients {
		return 0, 0, 0, runs, fmt.Errorf("round 2 of %s counted %d of %d clients", s.name, rec.Counted, s.clients)
	}
	clientSpan = last.Sub(first).Seconds()
	total = rec.TotalSeconds
	desc, err := c.DescribeWorkflowExecution(ctx, workflows.RoundWorkflowID(out.Result.Experiment, 2), "")
	if err != nil {
		return 0, 0, 0, runs, err
	}
	runs.historyEvents = desc.GetWorkflowExecutionInfo().GetHistoryLength()
	overhead = total - clientSpan - rec.AggregateSeconds - rec.EvalSeconds
	return overhead, total, clientSpan, runs, nil
}

// runSetup runs the setup's experiment through the whole keeper on a stack of its own
// and returns a client of that stack, which stays up until stop.
func runSetup(ctx context.Context, root, dir string, s roundSetup) (c client.Client, out runner.Outcome, stop func(), err error) {
	dir = filepath.Join(dir, fmt.Sprintf("run-%d-%d", s.clients, s.rounds))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, out, nil, err
	}
	rounds := s.rounds
	if rounds == 0 {
		rounds = 2
	}
	path := filepath.Join(dir, "config.yaml")
	yaml := fmt.Sprintf(roundConfig, dir, root, s.clients, s.hidden, s.samples, s.epochs, s.containers, rounds)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return nil, out, nil, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, out, nil, err
	}
	var cleanup []func()
	stop = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	stack, err := embedded.Start(ctx, cfg, embedded.Options{FreePorts: true, Logger: logger})
	if err != nil {
		return nil, out, nil, err
	}
	cleanup = append(cleanup, stack.Stop)
	resolved := stack.Endpoints.Apply(cfg)
	if c, err = bootstrap.Dial(ctx, resolved, logger); err != nil {
		return nil, out, nil, err
	}
	cleanup = append(cleanup, c.Close)
	stopWorker, err := bootstrap.StartWorker(ctx, c, resolved, dir, logger)
	if err != nil {
		return nil, out, nil, err
	}
	cleanup = append(cleanup, stopWorker)
	if out, err = runner.Run(ctx, c, resolved, runner.Options{Poll: 200 * time.Millisecond}); err != nil {
		return nil, out, nil, err
	}
	return c, out, stop, nil
}

// runStats sum up a round's activations.
type runStats struct {
	n, cold int
	seconds float64
	// historyEvents is the length of the round workflow's history.
	historyEvents int64
}

func (r runStats) String() string {
	if r.n == 0 {
		return "no activations"
	}
	return fmt.Sprintf("%d activations of %.2f s on average, %d cold; the round's history holds %d events", r.n, r.seconds/float64(r.n), r.cold, r.historyEvents)
}

// roundBenchmarks turns the round runs into results.
func roundBenchmarks(ctx context.Context, root, dir string, scale bool) ([]bench.Result, error) {
	var results []bench.Result
	trained := roundSetup{name: "20 clients training ≥ 2 s", clients: 20, hidden: 500, samples: 600, epochs: 16, containers: 4}
	overhead, total, span, runs, err := roundOverhead(ctx, root, dir, trained)
	if err != nil {
		return nil, fmt.Errorf("round of %s: %w", trained.name, err)
	}
	r := bench.Result{Name: "orchestration overhead of a round of " + trained.name, Value: overhead, Baseline: total, Unit: "s",
		Lower: true, BaselineName: "the whole round; the ratio is the share", Target: "≤ 5% of the round",
		Note: fmt.Sprintf("the clients ran for %.1f s of the round's %.1f s (span from the first start to the last end; %s); "+
			"overhead is what remains after that span, the aggregation and the evaluation", span, total, runs)}
	r.Met = bench.Met(overhead <= 0.05*total)
	results = append(results, r)

	sizes := []int{1000}
	if scale {
		sizes = append(sizes, 5000)
	}
	for _, n := range sizes {
		noop := roundSetup{name: fmt.Sprintf("%d no-op clients", n), clients: n, hidden: 1, samples: 10, epochs: 1, containers: 16}
		overhead, total, span, runs, err := roundOverhead(ctx, root, dir, noop)
		if err != nil {
			return nil, fmt.Errorf("round of %s: %w", noop.name, err)
		}
		r := bench.Result{Name: "round of " + noop.name, Value: overhead, Baseline: total, Unit: "s", Lower: true,
			BaselineName: "the whole round; the ratio is the share",
			Note: fmt.Sprintf("%d clients (one-unit MLP, ten images each) ran in a span of %.1f s of the %.1f s round (%s, %d containers); at most %d run at once (workflows.DefaultMaxInFlight)",
				n, span, total, runs, noop.containers, workflows.DefaultMaxInFlight)}
		if n == 1000 {
			r.Target, r.Met = "≤ 2 s overhead", bench.Met(overhead <= 2)
		}
		results = append(results, r)
	}
	return results, nil
}

// Temporal refuses a workflow whose history passes this many events (the server's
// default history count limit; it warns from 10,240).
const historyEventLimit = 51_200

// longExperiment runs an experiment of many quick rounds and reports the longest
// workflow history it left: the experiment continues as new every few dozen rounds and
// each round is a child workflow of its own, so none should come near the limit.
func longExperiment(ctx context.Context, root, dir string, rounds int) (bench.Result, error) {
	s := roundSetup{name: fmt.Sprintf("%d rounds", rounds), clients: 2, hidden: 1, samples: 10, epochs: 1, containers: 2, rounds: rounds}
	start := time.Now()
	c, out, stop, err := runSetup(ctx, root, dir, s)
	if err != nil {
		return bench.Result{}, err
	}
	defer stop()
	wall := time.Since(start).Seconds()
	if got := len(out.Result.Rounds); got != rounds {
		return bench.Result{}, fmt.Errorf("%d of %d rounds recorded (%s)", got, rounds, out.Result.StoppedBecause)
	}
	id := out.Result.Experiment
	longest := map[string]int64{}
	count := map[string]int{}
	for _, query := range []string{
		fmt.Sprintf("WorkflowId = '%s'", id),
		fmt.Sprintf("WorkflowType = 'RoundWorkflow' AND FedKeeperExperiment = '%s'", id),
	} {
		var token []byte
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
			if err != nil {
				return bench.Result{}, fmt.Errorf("list %s: %w", query, err)
			}
			for _, e := range resp.Executions {
				kind := e.GetType().GetName()
				count[kind]++
				longest[kind] = max(longest[kind], e.GetHistoryLength())
			}
			if token = resp.NextPageToken; len(token) == 0 {
				break
			}
		}
	}
	experimentRuns, roundRuns := count["ExperimentWorkflow"], count["RoundWorkflow"]
	if roundRuns != rounds || experimentRuns == 0 {
		return bench.Result{}, fmt.Errorf("visibility lists %d experiment runs and %d rounds, want %d rounds", experimentRuns, roundRuns, rounds)
	}
	worst := max(longest["ExperimentWorkflow"], longest["RoundWorkflow"])
	r := bench.Result{Name: fmt.Sprintf("longest workflow history of a %d-round experiment", rounds), Value: float64(worst),
		Baseline: historyEventLimit, Unit: "events", Lower: true, BaselineName: "Temporal's history limit; the ratio is the share",
		Target: "no history limit hit",
		Note: fmt.Sprintf("%d rounds of 2 no-op clients in %.0f s (%.2f s a round); the experiment ran as %d workflow runs "+
			"(continue-as-new), their longest history %d events; the longest round history %d events",
			rounds, wall, wall/float64(rounds), experimentRuns, longest["ExperimentWorkflow"], longest["RoundWorkflow"])}
	r.Met = bench.Met(worst < historyEventLimit/5) // well inside, below the server's warning
	return r, nil
}
