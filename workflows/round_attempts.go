package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/fl/model"
)

// runClient invokes one client's function and waits for it, re-invoking after a failed
// or lost activation up to MaxAttempts times, but never once the round's gate closed
// (its deadline passed, or a semi-asynchronous round aggregated): the loop of
// activities.RunAttempts, with each attempt an activity of this workflow. train is the
// client's local training (a straggler's has fewer epochs). r.attempt makes one try:
// invokeThenPoll in rounds of earlier builds, runInOneActivity in new ones.
func (r *round) runClient(ctx workflow.Context, client int, train model.TrainOptions) ClientOutcome {
	at := &workflowAttempts{r: r, ctx: ctx, client: client, train: train}
	return outcomeOf(activities.RunAttempts(r.p.MaxAttempts, activities.ClientAttempts{Client: client}, at))
}

// outcomeOf is a client's outcome from its record of attempts.
func outcomeOf(rec activities.ClientAttempts) ClientOutcome {
	out := ClientOutcome{Client: rec.Client, Attempts: rec.Attempts, Runs: rec.Runs, Counted: rec.Counted, Error: rec.Error,
		Seconds: rec.Seconds, Platform: rec.Platform, Cluster: rec.Cluster, Function: rec.Function}
	if rec.Dropped {
		return dropped(out)
	}
	return out
}

// workflowAttempts are one client's attempts in a round that runs each attempt as
// activities of its own, keeping the round's live view up to date.
type workflowAttempts struct {
	r        *round
	ctx      workflow.Context
	client   int
	train    model.TrainOptions
	reported bool // the first acceptance is the client's
}

func (w *workflowAttempts) Closed() string { return w.r.gate.closed() }

func (w *workflowAttempts) Dropped() bool { return w.ctx.Err() != nil }

// Recorded needs nothing: the workflow's own history is its checkpoint.
func (w *workflowAttempts) Recorded(activities.ClientAttempts) {}

func (w *workflowAttempts) Try(n int) activities.Attempt {
	r := w.r
	if n > 1 {
		r.live.Retries++
	}
	r.attempting(w.client, n, "")
	res := r.attempt(w.ctx, r.taskOf(w.client, n, w.train))
	if !w.reported && !res.AcceptedAt.IsZero() {
		r.accepted(res.AcceptedAt)
		w.reported = true
	}
	if res.Platform != "" {
		r.live.Clients[r.slot[w.client]].Platform = res.Platform
	}
	return res
}

// taskOf is attempt n at a client's task, with its training.
func (r *round) taskOf(client, n int, train model.TrainOptions) activities.ClientTask {
	p := r.p
	return activities.ClientTask{
		Experiment: p.Experiment, Round: p.Round, Client: client, Attempt: n, BaseVersion: p.BaseVersion,
		Model: p.Model, Train: train, Partition: p.Partition, Synthetic: p.Synthetic, Privacy: p.Privacy, Attack: p.Attack,
		AcceptLate: p.Async.On(),
	}
}

// attemptFunc makes one attempt at a client's task.
type attemptFunc func(ctx workflow.Context, task activities.ClientTask) activities.Attempt

// invokeThenPoll is an attempt of rounds started by earlier builds: InvokeClient, then
// PollActivation.
func invokeThenPoll(ctx workflow.Context, task activities.ClientTask) activities.Attempt {
	var a *activities.Activities
	var inv activities.Invocation
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, invokeOptions), a.InvokeClient, task).Get(ctx, &inv)
	if ctx.Err() != nil {
		return activities.Attempt{}
	}
	if err != nil {
		return activities.Attempt{Err: err, FailedIn: "invoke: ",
			Run: activities.ClientRun{Client: task.Client, Status: activities.StatusNotInvoked, Error: err.Error()}}
	}
	r := activities.Attempt{Platform: inv.Platform, Cluster: inv.Cluster, Function: inv.Function, AcceptedAt: workflow.Now(ctx)}
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, pollOptions), a.PollActivation, inv).Get(ctx, &r.Run)
	if err != nil && ctx.Err() == nil {
		r.Err, r.FailedIn = err, "poll: "
		r.Run = activities.ClientRun{Client: task.Client, ActivationID: inv.ActivationID, Status: "poll failed", Error: err.Error()}
	}
	return r
}

// RunClientChange is the workflow.GetVersion change ID of running each client in one
// activity (RunClient) instead of two (InvokeClient, PollActivation).
const RunClientChange = "run-client-in-one-activity"

// runInOneActivity is an attempt of this build's rounds: RunClient invokes the function
// and waits for it.
func runInOneActivity(ctx workflow.Context, task activities.ClientTask) activities.Attempt {
	var a *activities.Activities
	var run activities.ClientRun
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, runOptions), a.RunClient, task).Get(ctx, &run)
	if ctx.Err() != nil {
		return activities.Attempt{}
	}
	return activities.AttemptOf(task.Client, run, err)
}
