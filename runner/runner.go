// Package runner starts (or resumes) an experiment on Temporal, shows its rounds as
// they finish and writes the result files: the starter's work, kept apart from its
// flag parsing so tests drive it the same way.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// Options of one run.
type Options struct {
	// ForceNew starts a new experiment even when one of this config is still running.
	ForceNew bool
	// Out receives the round lines and the final table.
	Out io.Writer
	// Poll is how often progress is asked for (default 1 s).
	Poll time.Duration
	// Now stamps new experiment ids (default time.Now).
	Now func() time.Time
}

// Outcome is what a finished run produced.
type Outcome struct {
	Result     workflows.ExperimentResult
	Summary    report.Summary
	ResultsDir string
	Resumed    bool
}

// Run starts the config's experiment, or resumes the running one of the same name,
// waits for it and writes its results.
func Run(ctx context.Context, c client.Client, cfg *config.Config, opts Options) (Outcome, error) {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	id, resumed := "", false
	if !opts.ForceNew {
		running, err := findRunning(ctx, c, cfg)
		if err != nil {
			return Outcome{}, err
		}
		id, resumed = running, running != ""
	}
	if id == "" {
		id = fmt.Sprintf("%s-%s", cfg.Name, opts.Now().UTC().Format("20060102-150405"))
		params := bootstrap.Experiment(cfg, id)
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: cfg.Temporal.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			Memo:                     map[string]any{"config": cfg.Name, "model": params.Model.Kind, "clients_per_round": params.ClientsPerRound},
		}, workflows.ExperimentWorkflowName, params)
		if err != nil {
			return Outcome{}, fmt.Errorf("start experiment %s: %w", id, err)
		}
		fmt.Fprintf(out, "experiment %s started: %d of %d clients per round, %s, at most %d rounds\n",
			id, params.ClientsPerRound, params.TotalClients, params.Model.Kind, params.MaxRounds)
	} else {
		fmt.Fprintf(out, "experiment %s is still running: resuming it (use -new to start another)\n", id)
	}

	res, err := watch(ctx, c, id, cfg.Stop.MaxRounds, opts.Poll, out)
	if err != nil {
		return Outcome{}, err
	}
	summary := report.NewSummary(cfg.Name, cfg.Stop.TargetAccuracy, cfg.Stop.MaxRounds, res, time.Now())
	dir := filepath.Join(cfg.ResultsDir, res.Experiment)
	if err := report.Write(dir, res, summary); err != nil {
		return Outcome{}, err
	}
	printSummary(out, summary, dir)
	return Outcome{Result: res, Summary: summary, ResultsDir: dir, Resumed: resumed}, nil
}

// findRunning returns the id of a running experiment started from this config, if any.
func findRunning(ctx context.Context, c client.Client, cfg *config.Config) (string, error) {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: cfg.Temporal.Namespace,
		Query:     fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.ExperimentWorkflowName),
	})
	if err != nil {
		return "", fmt.Errorf("look for a running experiment: %w", err)
	}
	for _, e := range resp.Executions {
		id := e.GetExecution().GetWorkflowId()
		if strings.HasPrefix(id, cfg.Name+"-") {
			return id, nil
		}
	}
	return "", nil
}

// watch prints each round as it finishes and returns the experiment's result.
func watch(ctx context.Context, c client.Client, id string, maxRounds int, poll time.Duration, out io.Writer) (workflows.ExperimentResult, error) {
	done := make(chan error, 1)
	var res workflows.ExperimentResult
	wait := func() {
		run := c.GetWorkflow(ctx, id, "")
		go func() { done <- run.Get(ctx, &res) }()
	}
	wait()
	waiting := true

	shown := 0
	show := func(rounds []workflows.RoundSummary) {
		for ; shown < len(rounds); shown++ {
			r := rounds[shown]
			fmt.Fprintf(out, "round %3d/%d  clients %d/%d  accuracy %.4f  loss %.4f  invoke %.2fs  train %.2fs  aggregate %.2fs  total %.2fs  retries %d\n",
				r.Round, maxRounds, r.Counted, r.Clients, r.Accuracy, r.Loss, r.InvokeSeconds, r.TrainSeconds, r.AggregateSeconds, r.TotalSeconds, r.Retries)
		}
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		select {
		case err := <-done:
			waiting = false
			var failed *temporal.WorkflowExecutionError
			if err != nil && !errors.As(err, &failed) && ctx.Err() == nil {
				// The server is unreachable (restarting, say): the experiment lives on in
				// it, so keep asking.
				continue
			}
			if err != nil {
				return workflows.ExperimentResult{}, fmt.Errorf("experiment %s failed: %w", id, rootCause(err))
			}
			show(res.Rounds)
			return res, nil
		case <-ticker.C:
			if !waiting {
				wait()
				waiting = true
			}
			// A query waits for a worker to answer for as long as its context lasts; bound
			// it so that a busy or restarting worker only skips one update.
			qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			value, err := c.QueryWorkflow(qctx, id, "", workflows.ProgressQuery)
			cancel()
			if err != nil {
				continue // the workflow may be between runs (continue-as-new) or busy
			}
			var p workflows.Progress
			if value.Get(&p) == nil {
				show(p.Rounds)
			}
		case <-ctx.Done():
			return workflows.ExperimentResult{}, fmt.Errorf("stopped watching %s (it keeps its state in Temporal; run the starter again to resume): %w", id, ctx.Err())
		}
	}
}

// rootCause digs the innermost message out of Temporal's error chain, which is what a
// user needs to read.
func rootCause(err error) error {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err
		}
		err = inner
	}
}

func printSummary(out io.Writer, s report.Summary, dir string) {
	fmt.Fprintf(out, "\nexperiment %s finished: %s after %d rounds\n", s.Experiment, strings.ReplaceAll(s.StoppedBecause, "_", " "), s.Rounds)
	fmt.Fprintf(out, "  final accuracy %.4f, loss %.4f, wall time %.1fs\n", s.FinalAccuracy, s.FinalLoss, s.WallSeconds)
	fmt.Fprintf(out, "  results in %s\n", dir)
}
