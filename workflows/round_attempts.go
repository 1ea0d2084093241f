package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/fl/model"
)

// runClient invokes one client's function and waits for it, re-invoking after a failed
// or lost activation up to MaxAttempts times, but never once the round's gate closed
// (its deadline passed, or a semi-asynchronous round aggregated). train is the client's
// local training (a straggler's has fewer epochs). Every attempt is recorded.
// r.attempt makes one try: invokeThenPoll in rounds of earlier builds,
// runInOneActivity in new ones.
func (r *round) runClient(ctx workflow.Context, client int, train model.TrainOptions) ClientOutcome {
	p := r.p
	out := ClientOutcome{Client: client}
	reported := false
	for n := 1; n <= p.MaxAttempts; n++ {
		if why := r.gate.closed(); n > 1 && why != "" {
			out.Error += " (not invoked again: " + why + ")"
			break
		}
		out.Attempts = n
		if n > 1 {
			r.live.Retries++
		}
		r.attempting(client, n, out.Platform)
		res := r.attempt(ctx, activities.ClientTask{
			Experiment: p.Experiment, Round: p.Round, Client: client, Attempt: n, BaseVersion: p.BaseVersion,
			Model: p.Model, Train: train, Partition: p.Partition, Synthetic: p.Synthetic, Privacy: p.Privacy, Attack: p.Attack,
			AcceptLate: p.Async.On(),
		})
		if !reported && !res.acceptedAt.IsZero() {
			r.accepted(res.acceptedAt)
			reported = true
		}
		if res.platform != "" {
			out.Platform, out.Cluster, out.Function = res.platform, res.cluster, res.function
			r.live.Clients[r.slot[client]].Platform = res.platform
		}
		if ctx.Err() != nil {
			return dropped(out)
		}
		out.Runs = append(out.Runs, res.run)
		if res.err != nil {
			out.Error = res.failedIn + res.err.Error()
			continue
		}
		if res.run.Success {
			out.Counted = true
			out.Error = ""
			out.Seconds = res.run.TrainSeconds
			if d := res.run.End.Sub(res.run.Start).Seconds(); d > 0 {
				out.Seconds = d
			}
			return out
		}
		out.Error = res.run.Status + ": " + res.run.Error
	}
	return out
}

// attemptFunc makes one attempt at a client's task.
type attemptFunc func(ctx workflow.Context, task activities.ClientTask) attemptResult

// attemptResult is what one attempt left: the run to record (the activation's, or one
// describing a failed activity), the activity error with the step it failed in, and
// where and when the platform accepted the invocation.
type attemptResult struct {
	run               activities.ClientRun
	err               error
	failedIn          string // "invoke: ", "poll: " or "run: "
	platform, cluster string
	function          string
	acceptedAt        time.Time
}

// invokeThenPoll is an attempt of rounds started by earlier builds: InvokeClient, then
// PollActivation.
func invokeThenPoll(ctx workflow.Context, task activities.ClientTask) attemptResult {
	var a *activities.Activities
	var inv activities.Invocation
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, invokeOptions), a.InvokeClient, task).Get(ctx, &inv)
	if ctx.Err() != nil {
		return attemptResult{}
	}
	if err != nil {
		return attemptResult{err: err, failedIn: "invoke: ",
			run: activities.ClientRun{Client: task.Client, Status: activities.StatusNotInvoked, Error: err.Error()}}
	}
	r := attemptResult{platform: inv.Platform, cluster: inv.Cluster, function: inv.Function, acceptedAt: workflow.Now(ctx)}
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, pollOptions), a.PollActivation, inv).Get(ctx, &r.run)
	if err != nil && ctx.Err() == nil {
		r.err, r.failedIn = err, "poll: "
		r.run = activities.ClientRun{Client: task.Client, ActivationID: inv.ActivationID, Status: "poll failed", Error: err.Error()}
	}
	return r
}

// RunClientChange is the workflow.GetVersion change ID of running each client in one
// activity (RunClient) instead of two (InvokeClient, PollActivation).
const RunClientChange = "run-client-in-one-activity"

// runInOneActivity is an attempt of this build's rounds: RunClient invokes the function
// and waits for it.
func runInOneActivity(ctx workflow.Context, task activities.ClientTask) attemptResult {
	var a *activities.Activities
	var r attemptResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, runOptions), a.RunClient, task).Get(ctx, &r.run)
	switch {
	case ctx.Err() != nil:
		return attemptResult{}
	case err != nil:
		status, step := "failed", "run: "
		if invokeError(err) {
			status, step = activities.StatusNotInvoked, "invoke: "
		}
		return attemptResult{err: err, failedIn: step, run: activities.ClientRun{Client: task.Client, Status: status, Error: err.Error()}}
	}
	r.platform, r.cluster, r.function, r.acceptedAt = r.run.Platform, r.run.Cluster, r.run.Function, r.run.AcceptedAt
	return r
}

// invokeError reports whether RunClient failed before its function was invoked.
func invokeError(err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.HasDetails() {
		return false
	}
	var phase string
	return appErr.Details(&phase) == nil && phase == activities.InvokePhase
}
