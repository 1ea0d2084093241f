package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
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
	// noFold reads every update at the aggregation (round.fold_updates off).
	noFold bool
	// roundsOut, if set, is told each finished round's JSON line.
	roundsOut io.Writer
}

// laterRoundsProfile takes a CPU profile from the first round's end (its line, which
// the runner writes when it sees the round finished) to stop: the rounds measured,
// without the servers' start-up and the first round's cold containers and new tables.
type laterRoundsProfile struct {
	buf     bytes.Buffer
	started bool
	refused bool
}

func (p *laterRoundsProfile) Write(line []byte) (int, error) {
	if !p.started && !p.refused {
		// Refused while the whole bench is being profiled (-cpuprofile).
		p.started = pprof.StartCPUProfile(&p.buf) == nil
		p.refused = !p.started
	}
	return len(line), nil
}

// stop ends the profile and returns it, or nil if none was taken.
func (p *laterRoundsProfile) stop() []byte {
	if !p.started {
		return nil
	}
	pprof.StopCPUProfile()
	p.started = false
	return p.buf.Bytes()
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
      fold_updates: %[9]t
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          timeout: 600000
`

// roundFigures are a warm round's times as the round's record and its activations
// show them.
type roundFigures struct {
	total, invoke float64
	// slowest is the longest a client's function took by its own clock (load, train,
	// store), the part of the round nothing can shorten but the client.
	slowest  float64
	overhead float64
	// afterLast is the time from the last update to the version written: the round's
	// wall time minus its fan-out, its clients' time and its evaluation.
	afterLast float64
	// afterLastEnd is from the last counted activation's end, on its platform's clock
	// (the fabric's, this machine's), to the version written: afterLast with the wait
	// until the keeper's poll saw that activation finished.
	afterLastEnd float64
	// merged counts the updates the aggregation took from the batches' running sums.
	merged int
	// aggregate and eval are the aggregation's and the evaluation's own times, in
	// the round's record.
	aggregate, eval float64
	runs            runStats
	// toVersion is from the round's start to its global version written (the
	// evaluation's start); cpu is the CPU spent meanwhile.
	toVersion float64
	cpu       roundCPU
}

// roundCPU is the CPU a round spent from its start to its version written: in the
// bench's process (the keeper's worker, embedded Temporal, FerretDB and the fabric),
// and in the fabric's function processes.
type roundCPU struct {
	process, functions time.Duration
	// split divides the process's CPU among the store, the platform and the keeper,
	// by a CPU profile from the first round's end; nil when one could not be taken
	// (the bench itself is being profiled).
	split *bench.CPUSplit
}

// measureRound runs two rounds of the setup through the whole keeper (embedded
// Temporal, FerretDB, the OpenWhisk fabric, real client processes) and measures the
// second, warm one. Its overhead is the round's wall time minus the slowest client's
// own run (measured inside the function) minus the aggregation and the evaluation:
// everything the keeper and the platform add, dispatch and queueing included.
func measureRound(ctx context.Context, root, dir string, s roundSetup) (roundFigures, error) {
	var f roundFigures
	sampler := bench.StartCPUSampler(ctx, "/proc", 200*time.Millisecond)
	profile := &laterRoundsProfile{}
	s.roundsOut = profile
	c, out, stop, err := runSetup(ctx, root, dir, s)
	profiled := profile.stop()
	if err != nil {
		return f, errors.Join(err, sampler.Stop())
	}
	defer stop()
	if err := sampler.Stop(); err != nil {
		return f, err
	}
	if profiled != nil {
		split, err := bench.SplitCPU(profiled)
		if err != nil {
			return f, err
		}
		f.cpu.split = &split
	}
	rec, err := runner.RoundRecord(ctx, c, out.Result.Experiment, 2)
	if err != nil {
		return f, err
	}
	f.runs, f.slowest = tallyRuns(rec.Outcomes)
	if f.runs.n == 0 || rec.Counted != s.clients {
		return f, fmt.Errorf("round 2 of %s counted %d of %d clients", s.name, rec.Counted, s.clients)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, workflows.RoundWorkflowID(out.Result.Experiment, 2), "")
	if err != nil {
		return f, err
	}
	f.runs.historyEvents = desc.GetWorkflowExecutionInfo().GetHistoryLength()
	f.total, f.invoke = rec.TotalSeconds, rec.InvokeSeconds
	f.toVersion = rec.TotalSeconds - rec.EvalSeconds
	start := desc.GetWorkflowExecutionInfo().GetStartTime().AsTime()
	if f.cpu.process, f.cpu.functions, err = sampler.Between(start, start.Add(seconds(f.toVersion))); err != nil {
		return f, err
	}
	f.overhead = f.total - f.slowest - rec.AggregateSeconds - rec.EvalSeconds
	f.afterLast = f.total - rec.InvokeSeconds - rec.TrainSeconds - rec.EvalSeconds
	f.afterLastEnd = start.Add(seconds(f.toVersion)).Sub(lastEnd(rec.Outcomes)).Seconds()
	f.merged, f.aggregate, f.eval = rec.Merged, rec.AggregateSeconds, rec.EvalSeconds
	return f, nil
}

// runSetup runs the setup's experiment through the whole keeper on a stack of its own
// and returns a client of that stack, which stays up until stop.
func runSetup(ctx context.Context, root, dir string, s roundSetup) (c client.Client, out runner.Outcome, stop func(), err error) {
	dir = filepath.Join(dir, fmt.Sprintf("run-%d-%d-%d-%t", s.clients, s.hidden, s.rounds, s.noFold))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, out, nil, err
	}
	rounds := s.rounds
	if rounds == 0 {
		rounds = 2
	}
	yaml := fmt.Sprintf(roundConfig, dir, root, s.clients, s.hidden, s.samples, s.epochs, s.containers, rounds, !s.noFold)
	return runConfig(ctx, dir, yaml, s.roundsOut)
}

// runConfig runs the experiment of the config text through the whole keeper on a
// stack of its own (the config is written into dir, its results land beside it) and
// returns a client of that stack, which stays up until stop. roundLines, if set, is
// written each finished round's JSON line.
func runConfig(ctx context.Context, dir, yaml string, roundLines io.Writer) (c client.Client, out runner.Outcome, stop func(), err error) {
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return nil, out, nil, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, out, nil, fmt.Errorf("load %s: %w", path, err)
	}
	var cleanup []func()
	stopAll := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	// The returns below name stop nil on an error; the clean-up is stopAll's.
	defer func() {
		if err != nil {
			stopAll()
		}
	}()
	stop = stopAll
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
	if out, err = runner.Run(ctx, c, resolved, runner.Options{Poll: 200 * time.Millisecond, Out: roundLines, JSON: roundLines != nil}); err != nil {
		return nil, out, nil, err
	}
	return c, out, stop, nil
}

// runStats sum up a round's successful activations.
type runStats struct {
	n, cold int
	seconds float64 // the functions' own time, summed
	// historyEvents is the length of the round workflow's history.
	historyEvents int64
}

// tallyRuns sums up a round's successful activations and finds the slowest one's own
// run.
func tallyRuns(outcomes []workflows.ClientOutcome) (runs runStats, slowest float64) {
	for _, o := range outcomes {
		for _, r := range o.Runs {
			if !r.Success {
				continue
			}
			slowest = max(slowest, r.FunctionSeconds)
			runs.n++
			runs.seconds += r.FunctionSeconds
			if r.ColdStart {
				runs.cold++
			}
		}
	}
	return runs, slowest
}

// lastEnd is when the last successful activation ended, by its platform's clock.
func lastEnd(outcomes []workflows.ClientOutcome) time.Time {
	var last time.Time
	for _, o := range outcomes {
		for _, r := range o.Runs {
			if r.Success && r.End.After(last) {
				last = r.End
			}
		}
	}
	return last
}

func (r runStats) String() string {
	if r.n == 0 {
		return "no activations"
	}
	return fmt.Sprintf("%d activations, each %.3f s on average by the function's own clock, %d cold; the round's history holds %d events",
		r.n, r.seconds/float64(r.n), r.cold, r.historyEvents)
}

// roundBenchmarks turns the round runs into results. Given sizes, it runs only the
// rounds of that many no-op clients (bench -noop, for profiling the keeper).
func roundBenchmarks(ctx context.Context, root, dir string, sizes []int) ([]bench.Result, error) {
	if len(sizes) > 0 {
		return noopRounds(ctx, root, dir, sizes)
	}
	// A container per client, so no client queues for one: what is left beside the
	// slowest client's run is the keeper's (the clients share the machine's two cores,
	// so each runs longer than alone).
	trained := roundSetup{name: "20 clients training ≥ 2 s", clients: 20, hidden: 500, samples: 600, epochs: 16, containers: 20}
	f, err := measureRound(ctx, root, dir, trained)
	if err != nil {
		return nil, fmt.Errorf("round of %s: %w", trained.name, err)
	}
	r := bench.Result{Name: "orchestration overhead of a round of " + trained.name, Value: f.overhead, Baseline: f.total, Unit: "s",
		Lower: true, BaselineName: "the whole round; the ratio is the share", Target: "≤ 5% of the round",
		Note: fmt.Sprintf("the slowest client's function ran %.1f s of the round's %.1f s (%s); overhead is the round's wall time "+
			"minus that, the aggregation and the evaluation; a container per client, so none queued", f.slowest, f.total, f.runs)}
	r.Met = bench.Met(f.overhead <= 0.05*f.total)
	noop, err := noopRounds(ctx, root, dir, []int{100, 1000, 5000})
	return append([]bench.Result{r}, noop...), err
}

// noopRounds measures a round of each size of no-op clients.
func noopRounds(ctx context.Context, root, dir string, sizes []int) ([]bench.Result, error) {
	var results []bench.Result
	for _, n := range sizes {
		noop := roundSetup{name: fmt.Sprintf("%d no-op clients", n), clients: n, hidden: 1, samples: 10, epochs: 1, containers: 16}
		f, err := measureRound(ctx, root, dir, noop)
		if err != nil {
			return nil, fmt.Errorf("round of %s: %w", noop.name, err)
		}
		results = append(results, noopResults(n, noop.containers, f)...)
	}
	return results, nil
}

// noopResults are a round of n no-op clients' figures: the fan-out on FedKeeper's own
// path, and what the keeper costs per client.
func noopResults(n, containers int, f roundFigures) []bench.Result {
	fan := bench.Result{Name: fmt.Sprintf("fan-out of %d no-op clients: round start to every activation accepted", n), Value: f.invoke,
		Baseline: f.total, Unit: "s", Lower: true, BaselineName: "the whole round; the ratio is the share",
		Note: fmt.Sprintf("through the round workflow, RunBatch activities of up to %d clients and the OpenWhisk adapter to the fabric; at most %d clients run at once (workflows.DefaultMaxInFlight)", workflows.MaxClientsPerActivity, workflows.DefaultMaxInFlight)}
	perClient := 1000 * f.overhead / float64(n)
	cost := bench.Result{Name: fmt.Sprintf("keeper cost per client, round of %d no-op clients", n), Value: perClient,
		Baseline: 1000 * f.slowest, Unit: "ms", Lower: true, BaselineName: "the slowest client's own run",
		Note: fmt.Sprintf("overhead %.1f s of the %.1f s round (wall time minus the slowest function's own %.3f s, the aggregation's %.2f s and the evaluation's %.2f s) over %d clients; %s, %d containers",
			f.overhead, f.total, f.slowest, f.aggregate, f.eval, n, f.runs, containers)}
	end := bench.Result{Name: fmt.Sprintf("round of %d no-op clients: round start to global version written", n), Value: f.toVersion,
		Baseline: f.slowest, Unit: "s", Lower: true, BaselineName: "the slowest client's own run",
		Note: fmt.Sprintf("the round workflow's start to its evaluation's start, which follows the version's write; the whole round, with the evaluation and the clean-up of its %d updates, took %.1f s; %d containers",
			n, f.total, containers)}
	switch n {
	case 1000:
		end.Target, end.Met = "≤ 3 s", bench.Met(f.toVersion <= 3)
	case 5000:
		end.Target, end.Met = "≤ 15 s", bench.Met(f.toVersion <= 15)
	}
	cpu := keeperCPU(n, f.cpu)
	return []bench.Result{end, fan, cost, cpu}
}

// keeperCPU is the keeper's CPU per client in a round of n no-op clients: the bench
// process's CPU over the round, times the keeper's share of its CPU profile (the rest
// is the embedded store's and the local platform's, which share the process).
func keeperCPU(n int, c roundCPU) bench.Result {
	perClient := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	r := bench.Result{Name: fmt.Sprintf("keeper CPU per client, round of %d no-op clients", n), Unit: "ms", Lower: true,
		Baseline: perClient(c.functions), BaselineName: "the clients' function processes, per client", Target: "≤ 2 ms"}
	process := fmt.Sprintf("the bench's process spent %.1f s of CPU from the round's start to its version written (its own from getrusage every 20 ms, its children from /proc every 0.2 s), "+
		"the function processes %.1f s", c.process.Seconds(), c.functions.Seconds())
	if c.split == nil {
		r.Value, r.Met = perClient(c.process), bench.Met(perClient(c.process) <= 2)
		r.Note = process + "; the whole process counted (the bench itself was being profiled, so its CPU could not be divided): " +
			"the keeper with everything embedded beside it"
		return r
	}
	keeper := time.Duration(c.split.Keeper * float64(c.process))
	r.Value, r.Met = perClient(keeper), bench.Met(perClient(keeper) <= 2)
	r.Note = fmt.Sprintf("%s; a CPU profile from the first round's end to the run's end gives the keeper (its worker, the Temporal SDK and server, the HTTP clients "+
		"it calls the platform with, the Go runtime's whole collector) %.0f%% of that process, "+
		"the embedded FerretDB %.0f%% (%.2f ms a client: the functions' three statements each, the keeper's seal, listing, sums and clean-up) "+
		"and the local OpenWhisk fabric %.0f%% (%.2f ms)",
		process, 100*c.split.Keeper, 100*c.split.Store, perClient(time.Duration(c.split.Store*float64(c.process))),
		100*c.split.Platform, perClient(time.Duration(c.split.Platform*float64(c.process))))
	return r
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
