package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/bench"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// The client-round the clients group measures in Go and in PyTorch: the seed's MLP on
// the seed's share of MNIST (two label shards of 300), ten local epochs at batch 10.
const (
	clientSamples = 600
	clientEpochs  = 10
	// clientRounds: the first is each container's cold start, the later ones warm.
	clientRounds = 3
	goClient     = "fl_client"
	torchClient  = "pytorch_client"
)

// clientsConfig is an experiment of two clients on the embedded OpenWhisk cluster:
// client 0 runs the Go fl_client, client 1 the PyTorch example, each in a container
// of its own (max_containers leaves room, so neither queues behind the other). Both
// are deployed with the same memory setting, which the local fabric does not enforce.
const clientsConfig = `name: bench-clients
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 1
temporal:
  task_queue: bench
  ui_port: -1
metrics:
  listen: "off"
stop:
  max_rounds: %[3]d
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
      fabric:
        max_containers: 4
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 2
      num_clients_per_round: 2
      ow_clients_count: 2
      client_functions: [%[4]s, %[5]s]
    data_sampling:
      model: mlp
      hidden_size: 500
      distribution: non_iid
      shards_per_client: 2
      shard_size: %[6]d
      batch_size: 10
    model_params:
      optim: sgd
      lr: 0.05
      local_epochs: %[7]d
    round:
      min_clients_fraction: 1
    functions:
      %[4]s:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          memory: 2048
          timeout: 600000
      %[5]s:
        openwhisk:
          func_path: %[2]s/examples/pytorch-mlp/openwhisk
          memory: 2048
          timeout: 600000
`

// clientBenchmarks runs the Go and the PyTorch client through the whole keeper and
// compares what a client-round costs in each.
func clientBenchmarks(ctx context.Context, root, dir string) ([]bench.Result, error) {
	dir = filepath.Join(dir, "clients")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	yaml := fmt.Sprintf(clientsConfig, dir, root, clientRounds, goClient, torchClient, clientSamples/2, clientEpochs)
	c, out, stop, err := runConfig(ctx, dir, yaml, nil)
	if err != nil {
		return nil, fmt.Errorf("the Go and PyTorch clients' experiment: %w", err)
	}
	defer stop()
	var records []workflows.RoundResult
	for round := 1; round <= clientRounds; round++ {
		rec, err := runner.RoundRecord(ctx, c, out.Result.Experiment, round)
		if err != nil {
			return nil, err
		}
		records = append(records, rec)
	}
	// The containers stay warm until the stack stops: their processes still hold the
	// high-water mark of every round they served.
	procs, err := bench.Children("/proc", os.Getpid())
	if err != nil {
		return nil, err
	}
	var costs [2]bench.ClientCost
	for i, fn := range []string{goClient, torchClient} {
		if costs[i], err = clientCost(records, procs, fn); err != nil {
			return nil, err
		}
	}
	return bench.ClientCostResults(costs[0], costs[1])
}

// clientCost is what function's client cost over the rounds, from its activations in
// the round records and its process.
func clientCost(records []workflows.RoundResult, procs []bench.Process, function string) (bench.ClientCost, error) {
	cost := bench.ClientCost{Function: function, Samples: clientSamples, Epochs: clientEpochs}
	runs, err := runsOf(records, function)
	if err != nil {
		return cost, err
	}
	cold := runs[0]
	cost.ColdStart = seconds(cold.WaitSeconds) + cold.End.Sub(cold.Start)
	cost.ColdRun, cost.Init, cost.ColdTrain = cold.End.Sub(cold.Start), seconds(cold.InitSeconds), seconds(cold.TrainSeconds)
	for i, run := range runs {
		cost.Active += run.End.Sub(run.Start)
		if i == 0 {
			continue
		}
		if train := seconds(run.TrainSeconds); cost.Train == 0 || train < cost.Train {
			cost.Train, cost.WarmRun = train, run.End.Sub(run.Start)
		}
	}
	p, err := processOf(procs, function)
	if err != nil {
		return cost, err
	}
	cost.Process, cost.CPU = p.Status, p.CPU
	return cost, nil
}

// runsOf is function's successful activation in every round, in round order; the
// first must be its container's cold start and the others warm, on that container, or
// the figures would not be the ones they are named.
func runsOf(records []workflows.RoundResult, function string) ([]activities.ClientRun, error) {
	var runs []activities.ClientRun
	for _, rec := range records {
		run, ok := successOf(rec, function)
		switch {
		case !ok:
			return nil, fmt.Errorf("round %d has no successful run of %s", rec.Round, function)
		case run.Samples != clientSamples:
			return nil, fmt.Errorf("round %d: %s trained %d samples, want %d", rec.Round, function, run.Samples, clientSamples)
		case run.ColdStart != (len(runs) == 0):
			return nil, fmt.Errorf("round %d: %s's activation was cold=%t: the first round must start its container and the later ones reuse it", rec.Round, function, run.ColdStart)
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// successOf is the successful activation of function's client in the round.
func successOf(rec workflows.RoundResult, function string) (activities.ClientRun, bool) {
	for _, o := range rec.Outcomes {
		if o.Function != function || !o.Counted {
			continue
		}
		for _, r := range o.Runs {
			if r.Success {
				return r, true
			}
		}
	}
	return activities.ClientRun{}, false
}

// processOf is the one live process of the fabric that serves function.
func processOf(procs []bench.Process, function string) (bench.Process, error) {
	var found []bench.Process
	for _, p := range procs {
		if bench.RunsAction(p.Args, function) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return bench.Process{}, fmt.Errorf("%d live processes serve %s, want its one warm container (children of this process: %d)", len(found), function, len(procs))
	}
	return found[0], nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
