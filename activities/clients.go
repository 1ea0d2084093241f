package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/functions/relay"
	"github.com/fedkeeper/fedkeeper/metrics"
)

// InvokeClient starts a client's function for a round without waiting for it. A
// function that vanished from its cluster is deployed again and invoked once more. On
// platforms that only answer synchronously it only checks the placement: the call
// itself happens in PollActivation.
func (a *Activities) InvokeClient(ctx context.Context, task ClientTask) (Invocation, error) {
	inv, err := a.invokeClient(ctx, task)
	inv.InvokedBy = a.deps.Worker
	// Synchronous platforms are invoked by PollActivation; it counts those.
	if err != nil || inv.Task == nil {
		platform := inv.Platform
		if p, perr := a.placement(task.Client); perr == nil {
			platform = string(p.Platform)
		}
		a.deps.Metrics.Invoked(platform, task.Attempt, err)
	}
	return inv, err
}

func (a *Activities) invokeClient(ctx context.Context, task ClientTask) (Invocation, error) {
	p, err := a.placement(task.Client)
	if err != nil {
		return Invocation{}, err
	}
	prov, err := a.provider(p)
	if err != nil {
		return Invocation{}, err
	}
	inv := Invocation{Client: task.Client, Platform: string(p.Platform), Cluster: p.Cluster, Function: p.Function}
	starter, async := prov.(faas.Starter)
	if !async {
		if _, ok := prov.(faas.Caller); !ok {
			return Invocation{}, badConfig("%s cluster %q can neither start nor call functions", p.Platform, p.Cluster)
		}
		t := task
		inv.Task = &t
		inv.ActivationID = fmt.Sprintf("sync-%s-r%d-c%d-a%d", task.Experiment, task.Round, task.Client, task.Attempt)
		return inv, nil
	}
	req, err := a.clientRequest(a.clientTask(task), p)
	if err != nil {
		return Invocation{}, err
	}
	inv.DeployedAt = deployedAt(ctx, prov, p.Function)
	invokedAt := time.Now()
	id, err := starter.Invoke(ctx, p.Function, req)
	if errors.Is(err, faas.ErrFunctionMissing) {
		activity.GetLogger(ctx).Warn("function missing, redeploying", "function", p.Function, "cluster", p.Cluster)
		if err := a.redeployIfOlder(ctx, p, invokedAt); err != nil {
			return Invocation{}, err
		}
		inv.Redeployed = true
		inv.DeployedAt = deployedAt(ctx, prov, p.Function)
		id, err = starter.Invoke(ctx, p.Function, req)
	}
	if err != nil {
		return Invocation{}, classify(fmt.Errorf("invoke client %d: %w", task.Client, err))
	}
	inv.ActivationID = id
	return inv, nil
}

// deployedAt is when the cluster says the function was last deployed, or zero when it
// cannot say. Read before invoking: a deployment in between makes a poller count a
// live activation lost (one needless re-invocation), where reading after could let a
// lost one wait out lostAfter.
func deployedAt(ctx context.Context, prov faas.Provider, function string) time.Time {
	checker, ok := prov.(faas.Checker)
	if !ok {
		return time.Time{}
	}
	d, err := checker.Deployment(ctx, function)
	if err != nil || !d.Exists {
		return time.Time{}
	}
	return d.Updated
}

// clientTask is what the client function is asked to do: the task, and from the
// worker's config where the data and the weights are.
func (a *Activities) clientTask(task ClientTask) flclient.Task {
	train := task.Train
	train.Seed = clientSeed(task.Train.Seed, task.Round, task.Client)
	return flclient.Task{
		Experiment: task.Experiment, Round: task.Round, Client: task.Client, Attempt: task.Attempt, BaseVersion: task.BaseVersion,
		Model: task.Model, Train: train,
		Data:    flclient.Data{Train: a.deps.TrainData, Partition: task.Partition},
		Store:   a.deps.Weights,
		Privacy: task.Privacy, Attack: task.Attack, AcceptLate: task.AcceptLate,
	}
}

// clientRequest signs a client's task for its placement.
func (a *Activities) clientRequest(t flclient.Task, p config.Placement) (invocation.Request, error) {
	req, err := invocation.Seal(a.deps.TokenKey, invocation.KindClient, t, a.expiry(p))
	if err != nil {
		return invocation.Request{}, badConfig("%v", err)
	}
	return req, nil
}

// expiry is how long a request to a function stays good: as long as the keeper waits
// for its activation (which may queue on a busy cluster), so only a replay outlives it.
func (a *Activities) expiry(p config.Placement) time.Time {
	return time.Now().Add(a.functionTimeout(p) + lostAfter)
}

// call runs a synchronous client invocation, redeploying a vanished function once.
func (a *Activities) call(ctx context.Context, p config.Placement, caller faas.Caller, inv Invocation) (ClientRun, error) {
	t := a.clientTask(*inv.Task)
	// The whole invocation as the heartbeat's details: a retried RunClient resumes it.
	stop := heartbeatWhile(ctx, inv)
	defer stop()
	if !a.deps.Config.RelaysWeights(p.Platform, p.Cluster) {
		req, err := a.clientRequest(t, p)
		if err != nil {
			return ClientRun{}, err
		}
		act, err := a.callOnce(ctx, p, caller, req, t.Client)
		if err != nil {
			return ClientRun{}, err
		}
		return toClientRun(inv, act), nil
	}
	return a.relayed(ctx, p, caller, inv, t)
}

// relayed calls a client of a cluster that cannot reach MongoDB: the weights travel in
// the request and the answer, and the keeper stores the update.
func (a *Activities) relayed(ctx context.Context, p config.Placement, caller faas.Caller, inv Invocation, t flclient.Task) (ClientRun, error) {
	_, sum, err := a.globals.Get(ctx, a.deps.Store, t.Experiment, t.BaseVersion)
	if err != nil {
		return ClientRun{}, err
	}
	t.Store, t.InlineSHA256 = flclient.Store{}, sum
	req, err := a.clientRequest(t, p)
	if err != nil {
		return ClientRun{}, err
	}
	rc := relayCall{a: a, p: p, caller: caller, client: t.Client}
	res, err := relay.Relay(ctx, a.deps.Store, &a.globals, req, t, rc.call)
	switch {
	case errors.Is(err, errFunctionFailed):
		return toClientRun(inv, rc.act), nil
	case errors.Is(err, faas.ErrUnavailable), errors.Is(err, faas.ErrThrottled), errors.Is(err, faas.ErrRejected):
		return ClientRun{}, classify(err)
	case err != nil:
		run := toClientRun(inv, rc.act)
		run.Success, run.Status, run.Error = false, "relay failed", err.Error()
		return run, nil
	}
	// The answer's bytes stay out of the record; only the figures are kept.
	rc.act.Result, _ = json.Marshal(res)
	return toClientRun(inv, rc.act), nil
}

// relayCall is the relay's call of one client, keeping the activation it saw.
type relayCall struct {
	a      *Activities
	p      config.Placement
	caller faas.Caller
	client int
	act    faas.Activation
}

func (rc *relayCall) call(ctx context.Context, req invocation.Request) (flclient.Result, error) {
	var err error
	if rc.act, err = rc.a.callOnce(ctx, rc.p, rc.caller, req, rc.client); err != nil {
		return flclient.Result{}, err
	}
	if req.Inline != nil {
		rc.a.deps.Metrics.WeightBytes(metrics.WeightsSent, len(req.Inline.Data))
	}
	if !rc.act.Success {
		return flclient.Result{}, errFunctionFailed
	}
	var r flclient.Result
	if err := json.Unmarshal(rc.act.Result, &r); err != nil {
		return flclient.Result{}, fmt.Errorf("client %d: result: %w", rc.client, err)
	}
	if r.Update != nil {
		rc.a.deps.Metrics.WeightBytes(metrics.WeightsReceived, len(r.Update.Data))
	}
	return r, nil
}

// errFunctionFailed marks a relayed client whose function ran and failed.
var errFunctionFailed = errors.New("the function failed")

// callOnce calls a client function, redeploying it once if it vanished.
func (a *Activities) callOnce(ctx context.Context, p config.Placement, caller faas.Caller, req invocation.Request, client int) (faas.Activation, error) {
	calledAt := time.Now()
	act, err := caller.Call(ctx, p.Function, req)
	if errors.Is(err, faas.ErrFunctionMissing) {
		activity.GetLogger(ctx).Warn("function missing, redeploying", "function", p.Function, "cluster", p.Cluster)
		if err := a.redeployIfOlder(ctx, p, calledAt); err != nil {
			return faas.Activation{}, err
		}
		act, err = caller.Call(ctx, p.Function, req)
	}
	if err != nil {
		return faas.Activation{}, classify(fmt.Errorf("call client %d: %w", client, err))
	}
	return act, nil
}

// maxPollDelay bounds the wait between two looks at a running activation: short
// enough that a finished client is noticed quickly, long enough not to load a cluster.
const maxPollDelay = 250 * time.Millisecond

// lostAfter is how long past a function's own time limit an activation may stay
// unreported before the keeper counts it lost and invokes the client again (it may
// have queued that long on a busy cluster).
const lostAfter = 30 * time.Minute

// checkEvery is how often a long-pending activation's function is checked for existence.
const checkEvery = 5 * time.Second

// RunClient invokes a client's function and waits for its activation to finish: what
// InvokeClient and PollActivation do, in one activity, so a client costs a round's
// history three events instead of six and the workers half the tasks. The invocation
// rides in the heartbeats, so a retried RunClient (a dead worker, a stopped one handing
// its work back) resumes waiting for the same activation instead of invoking again.
// A failed invocation is an error marked InvokePhase, so the round records it as "not
// invoked".
func (a *Activities) RunClient(ctx context.Context, task ClientTask) (ClientRun, error) {
	began := time.Now()
	var inv Invocation
	if !activity.HasHeartbeatDetails(ctx) || activity.GetHeartbeatDetails(ctx, &inv) != nil || inv.Client != task.Client {
		var err error
		if inv, err = a.InvokeClient(ctx, task); err != nil {
			return ClientRun{}, invokeFailed(err)
		}
		inv.AcceptedAt = onServerClock(activity.GetInfo(ctx).StartedTime, began, time.Now())
		activity.RecordHeartbeat(ctx, inv)
	}
	run, err := a.PollActivation(ctx, inv)
	if err != nil {
		return ClientRun{}, err
	}
	run.Platform, run.Cluster, run.Function = inv.Platform, inv.Cluster, inv.Function
	run.AcceptedAt, run.Redeployed = inv.AcceptedAt, inv.Redeployed
	return run, nil
}

// onServerClock is the worker's moment now as the Temporal server's clock shows it:
// the activity's start on that clock (started) plus the time the worker measured since
// (began, now on its own monotonic clock). The workflow subtracts its own times, also
// the server's, so a worker whose clock is off does not skew the round's figures.
func onServerClock(started, began, now time.Time) time.Time {
	if started.IsZero() {
		return now.UTC()
	}
	return started.Add(now.Sub(began)).UTC()
}

// InvokePhase is the detail RunClient puts on the errors of a failed invocation.
const InvokePhase = "invoke"

// invokeFailed marks an invocation's error, keeping its type and retry class.
func invokeFailed(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return temporal.NewApplicationErrorWithOptions(appErr.Error(), appErr.Type(),
			temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), Cause: err, Details: []any{InvokePhase}})
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), "", temporal.ApplicationErrorOptions{Cause: err, Details: []any{InvokePhase}})
}

// PollActivation waits for a client's activation to finish, heartbeating meanwhile.
// A retried poll resumes waiting for the same activation instead of starting a new one.
func (a *Activities) PollActivation(ctx context.Context, inv Invocation) (ClientRun, error) {
	run, err := a.pollActivation(ctx, inv)
	run.InvokedBy, run.Worker = inv.InvokedBy, a.deps.Worker
	if inv.Task != nil {
		a.deps.Metrics.Invoked(inv.Platform, inv.Task.Attempt, err)
	}
	if err == nil {
		seconds := 0.0
		if !run.Start.IsZero() && run.End.After(run.Start) {
			seconds = run.End.Sub(run.Start).Seconds()
		}
		a.deps.Metrics.Finished(inv.Platform, run.Status, seconds, run.ColdStart)
	}
	return run, err
}

func (a *Activities) pollActivation(ctx context.Context, inv Invocation) (ClientRun, error) {
	p, err := a.placement(inv.Client)
	if err != nil {
		return ClientRun{}, err
	}
	prov, err := a.provider(p)
	if err != nil {
		return ClientRun{}, err
	}
	if inv.Task != nil {
		caller, ok := prov.(faas.Caller)
		if !ok {
			return ClientRun{}, badConfig("%s cluster %q cannot call functions", p.Platform, p.Cluster)
		}
		return a.call(ctx, p, caller, inv)
	}
	starter, ok := prov.(faas.Starter)
	if !ok {
		return ClientRun{}, badConfig("%s cluster %q cannot start functions", p.Platform, p.Cluster)
	}
	limit := lostAfter + a.functionTimeout(p)
	deadline := time.Now().Add(limit)
	delay := 50 * time.Millisecond
	checker, canCheck := prov.(faas.Checker)
	nextCheck := time.Now().Add(a.checkEvery)
	for {
		act, err := starter.Activation(ctx, p.Function, inv.ActivationID)
		if err == nil {
			return toClientRun(inv, act), nil
		}
		if canCheck && errors.Is(err, faas.ErrNotReady) && time.Now().After(nextCheck) {
			// A platform that lost its functions (a restarted cluster) lost their
			// activations too: say so now instead of waiting out the deadline.
			nextCheck = time.Now().Add(a.checkEvery)
			if reason := lostWith(ctx, checker, p.Function, inv.DeployedAt); reason != "" {
				return ClientRun{Client: inv.Client, ActivationID: inv.ActivationID, Status: "lost", Error: reason}, nil
			}
		}
		if !errors.Is(err, faas.ErrNotReady) {
			if errors.Is(err, faas.ErrRejected) {
				return ClientRun{}, classify(err)
			}
			activity.GetLogger(ctx).Warn("polling failed, trying again", "activation", inv.ActivationID, "error", err)
		}
		if time.Now().After(deadline) {
			return ClientRun{Client: inv.Client, ActivationID: inv.ActivationID, Status: "lost",
				Error: fmt.Sprintf("no result %v after invocation", limit)}, nil
		}
		activity.RecordHeartbeat(ctx, inv)
		select {
		case <-ctx.Done():
			return ClientRun{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, maxPollDelay)
	}
}

// lostWith says why a pending activation can no longer be reported, or "" while it
// still can: its function is gone, or was deployed anew since deployedAt, its
// deployment when it was invoked. The second case is a cluster that restarted, lost its
// functions with their activations, and had them redeployed by another client of the
// round before this poller looked; without it the poller would wait out lostAfter.
// Both times are the cluster's, so a cluster whose clock differs from the worker's
// changes nothing. A function replaced in place on a real cluster may still finish its
// old activation; counting it lost then costs a second invocation of one client, not a
// wrong model: the store keeps one update per client and round, the latest attempt's.
func lostWith(ctx context.Context, checker faas.Checker, function string, deployedAt time.Time) string {
	d, err := checker.Deployment(ctx, function)
	switch {
	case err != nil:
		return ""
	case !d.Exists:
		return "the function disappeared from its cluster while the activation was pending"
	case !deployedAt.IsZero() && d.Updated.After(deployedAt):
		return fmt.Sprintf("the function was deployed anew at %s (cluster clock), after the deployment %s it was invoked on",
			d.Updated.UTC().Format(time.RFC3339Nano), deployedAt.UTC().Format(time.RFC3339Nano))
	}
	return ""
}

func (a *Activities) functionTimeout(p config.Placement) time.Duration {
	fn := a.deps.Config.Scenarios.FederatedLearning.Functions[p.Function]
	switch {
	case p.Platform == config.OpenWhisk && fn.OpenWhisk != nil && fn.OpenWhisk.Timeout > 0:
		return time.Duration(fn.OpenWhisk.Timeout) * time.Millisecond
	case p.Platform == config.Google && fn.Google != nil:
		if d, err := fn.Google.TimeoutDuration(); err == nil && d > 0 {
			return d
		}
	case p.Platform == config.OpenFaaS && fn.OpenFaaS != nil:
		if d, err := fn.OpenFaaS.TimeoutDuration(); err == nil && d > 0 {
			return d
		}
	}
	return 5 * time.Minute
}

func toClientRun(inv Invocation, act faas.Activation) ClientRun {
	run := ClientRun{
		Client: inv.Client, ActivationID: act.ID, Status: act.Status, Success: act.Success,
		Start: act.Start, End: act.End, WaitSeconds: act.WaitTime.Seconds(),
		InitSeconds: act.InitTime.Seconds(), ColdStart: act.ColdStart,
	}
	var body struct {
		flclient.Result
		Error any `json:"error"`
	}
	if err := json.Unmarshal(act.Result, &body); err != nil {
		run.Success = false
		run.Error = "result is not a JSON object"
		return run
	}
	if body.Error != nil {
		run.Error = fmt.Sprint(body.Error)
	}
	if run.Success && (body.Client != inv.Client || body.Samples <= 0) {
		run.Success = false
		run.Error = fmt.Sprintf("function answered for client %d with %d samples", body.Client, body.Samples)
	}
	run.Samples, run.Loss, run.TrainSeconds, run.FunctionSeconds = body.Samples, body.Loss, body.TrainSeconds, body.Seconds
	return run
}
