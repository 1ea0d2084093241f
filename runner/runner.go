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

	"github.com/fedkeeper/fedkeeper/billing"
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
	// Live redraws a status line of the running round (clients done, retries, elapsed)
	// between the round lines; for terminals.
	Live bool
	// JSON writes one JSON object per finished round and the summary as the last line,
	// instead of the text lines.
	JSON bool
	// Attach only watches: the experiment with this id, or with "latest" the config's
	// running one; it never starts one.
	Attach string
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
	if opts.Attach != "" {
		id, resumed = opts.Attach, true
		if opts.Attach == "latest" {
			running, err := findRunning(ctx, c, cfg)
			if err != nil {
				return Outcome{}, err
			}
			if running == "" {
				return Outcome{}, fmt.Errorf("no experiment of config %q is running", cfg.Name)
			}
			id = running
		}
	} else if !opts.ForceNew {
		running, err := findRunning(ctx, c, cfg)
		if err != nil {
			return Outcome{}, err
		}
		id, resumed = running, running != ""
	}
	if id == "" {
		id = fmt.Sprintf("%s-%s", cfg.Name, opts.Now().UTC().Format("20060102-150405"))
		params := bootstrap.Experiment(cfg, id)
		start := client.StartWorkflowOptions{
			ID: id, TaskQueue: cfg.Temporal.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			Memo: map[string]any{"config": cfg.Name, "model": params.Model.Kind, "clients_per_round": params.ClientsPerRound,
				"total_clients": params.TotalClients, "max_rounds": params.MaxRounds, "target_accuracy": params.TargetAccuracy},
		}
		if err := EnsureSearchAttributes(ctx, c, cfg.Temporal.Namespace); err != nil {
			fmt.Fprintf(out, "note: the Web UI will not filter by round or accuracy: %v\n", err)
		} else {
			params.Index = true
			start.TypedSearchAttributes = temporal.NewSearchAttributes(workflows.ExperimentAttr.ValueSet(id))
		}
		_, err := c.ExecuteWorkflow(ctx, start, workflows.ExperimentWorkflowName, params)
		if err != nil {
			return Outcome{}, fmt.Errorf("start experiment %s: %w", id, err)
		}
		if !opts.JSON {
			fmt.Fprintf(out, "experiment %s started: %d of %d clients per round, %s, at most %d rounds\n",
				id, params.ClientsPerRound, params.TotalClients, params.Model.Kind, params.MaxRounds)
		}
	} else if !opts.JSON {
		verb := "resuming it (use -new to start another)"
		if opts.Attach != "" {
			verb = "watching it"
		}
		fmt.Fprintf(out, "experiment %s is still running: %s\n", id, verb)
	}

	display := newDisplay(out, cfg.Stop.MaxRounds, opts.Live, opts.JSON)
	display.seed = newSeedLog(cfg, id)
	res, err := watch(ctx, c, id, opts.Poll, display)
	if err != nil {
		return Outcome{}, err
	}
	summary := report.NewSummary(cfg.Name, cfg.Stop.TargetAccuracy, cfg.Stop.MaxRounds, res, time.Now())
	dir := filepath.Join(cfg.ResultsDir, res.Experiment)
	pricer, err := billing.NewPricer(cfg, bootstrap.Experiment(cfg, id).Model)
	if err != nil {
		return Outcome{}, err
	}
	if summary, err = writeResults(ctx, c, dir, res, summary, pricer); err != nil {
		return Outcome{}, err
	}
	if err := display.seed.finish(res.Rounds); err != nil {
		return Outcome{}, err
	}
	display.summary(summary, dir)
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

// watch shows each round as it finishes, and the running round live, and returns the
// experiment's result.
func watch(ctx context.Context, c client.Client, id string, poll time.Duration, d *display) (workflows.ExperimentResult, error) {
	done := make(chan error, 1)
	var res workflows.ExperimentResult
	wait := func() {
		run := c.GetWorkflow(ctx, id, "")
		go func() { done <- run.Get(ctx, &res) }()
	}
	wait()
	waiting := true

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
				d.clearLive()
				return workflows.ExperimentResult{}, fmt.Errorf("experiment %s failed: %w", id, rootCause(err))
			}
			d.rounds(res.Rounds)
			return res, nil
		case <-ticker.C:
			if !waiting {
				wait()
				waiting = true
			}
			var p workflows.Progress
			if query(ctx, c, id, workflows.ProgressQuery, &p) != nil {
				continue // the workflow may be between runs (continue-as-new) or busy
			}
			d.rounds(p.Rounds)
			if d.liveOn && p.CurrentRound > len(p.Rounds) {
				var live workflows.RoundProgress
				if query(ctx, c, workflows.RoundWorkflowID(id, p.CurrentRound), workflows.RoundProgressQuery, &live) == nil {
					d.live(live, time.Now())
				}
			}
		case <-ctx.Done():
			d.clearLive()
			return workflows.ExperimentResult{}, fmt.Errorf("stopped watching %s (it keeps its state in Temporal; run the starter again to resume): %w", id, ctx.Err())
		}
	}
}

// query asks a workflow, bounding the wait: a query waits for a worker to answer for as
// long as its context lasts, and a busy or restarting worker should cost one update,
// not the watch.
func query(ctx context.Context, c client.Client, workflowID, name string, into any) error {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	value, err := c.QueryWorkflow(qctx, workflowID, "", name)
	if err != nil {
		return err
	}
	return value.Get(into)
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
