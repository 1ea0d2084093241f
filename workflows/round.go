package workflows

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/functions/flserver"
)

// ErrTypeTooFewClients fails a round in which fewer clients reported than required.
const ErrTypeTooFewClients = "TooFewClients"

// DefaultMaxInFlight bounds the clients of a round running at once. Each running client
// has one pending activity, and Temporal refuses a workflow more than 2,000 pending
// activities; half of that leaves room and still keeps a thousand functions busy.
const DefaultMaxInFlight = 1000

// DefaultMaxRecordedRuns bounds the activations a round's result holds: about 400 bytes
// each, so a thousand stay well under Temporal's 2 MB payload limit.
const DefaultMaxRecordedRuns = 1000

var (
	invokeOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute, // a vanished function is rebuilt and redeployed inside
		// The invocation itself is one quick request; the heartbeat catches a dead worker.
		HeartbeatTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 8,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig, activities.ErrTypeRejected},
		},
	}
	// runOptions are RunClient's: an invocation and the wait for it. A retry resumes the
	// same activation (see activities.RunClient), so it may retry as often as a poll.
	runOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 20,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig, activities.ErrTypeRejected},
		},
	}
	pollOptions = workflow.ActivityOptions{
		// The poll ends when the platform reports the activation finished or lost; the
		// heartbeat catches a dead worker long before this bound.
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 20,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig},
		},
	}
	aggregateOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig, activities.ErrTypeNoUpdates},
		},
	}
	evaluateOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig},
		},
	}
)

// RoundWorkflow runs one round: select clients, invoke their functions in parallel,
// re-invoke the ones that fail, then aggregate the updates that arrived into the next
// global version and evaluate it.
func RoundWorkflow(ctx workflow.Context, p RoundParams) (RoundResult, error) {
	// Rounds started by earlier builds invoke and poll each client in two activities;
	// their histories replay that way. New rounds use one (activities.RunClient).
	oneActivity := workflow.GetVersion(ctx, RunClientChange, workflow.DefaultVersion, 1) >= 1
	start := workflow.Now(ctx)
	logger := workflow.GetLogger(ctx)
	choices := p.Chosen
	if len(choices) == 0 {
		choices = selection.Random(p.Seed, p.Round, p.TotalClients, p.ClientsPerRound)
	}
	selected := selection.Clients(choices)
	live := RoundProgress{Round: p.Round, Selected: len(selected), Phase: "training", StartedAt: start}
	if err := workflow.SetQueryHandler(ctx, RoundProgressQuery, func() (RoundProgress, error) { return live, nil }); err != nil {
		return RoundResult{}, err
	}

	outcomes := make([]ClientOutcome, len(selected))
	done := make([]bool, len(selected))
	var lastAccepted, lastDone time.Time
	gate := &retryGate{}
	// Buffered: a client never blocks on reporting, even after it was cancelled.
	finished := workflow.NewBufferedChannel(ctx, len(selected))
	cancels := make([]workflow.CancelFunc, len(selected))
	inFlight := p.MaxInFlight
	if inFlight <= 0 {
		inFlight = DefaultMaxInFlight
	}
	// Clients past the window wait for a running one to finish: a sliding window, so a
	// round of any size stays under Temporal's pending-activity limit.
	window := workflow.NewSemaphore(ctx, int64(inFlight))
	for i, client := range selected {
		clientCtx, cancel := workflow.WithCancel(ctx)
		cancels[i] = cancel
		workflow.Go(clientCtx, func(clientCtx workflow.Context) {
			if err := window.Acquire(clientCtx, 1); err != nil {
				// Dropped at the deadline before its turn came.
				outcomes[i] = dropped(ClientOutcome{Client: client})
				live.Done++
				done[i] = true
				finished.Send(clientCtx, i)
				return
			}
			defer window.Release(1)
			attempt := invokeThenPoll
			if oneActivity {
				attempt = runInOneActivity
			}
			outcomes[i] = runClient(clientCtx, p, client, gate, &live.Retries, func(at time.Time) {
				if at.After(lastAccepted) {
					lastAccepted = at
				}
			}, attempt)
			live.Done++
			if outcomes[i].Counted {
				live.Counted++
			}
			if now := workflow.Now(clientCtx); now.After(lastDone) {
				lastDone = now
			}
			done[i] = true
			finished.Send(clientCtx, i)
		})
	}
	deadline, cancelDeadline := startDeadline(ctx, p)
	defer cancelDeadline()
	dropLate := func() {
		// Late updates are dropped: stop waiting for the clients still running.
		for _, cancel := range cancels {
			cancel()
		}
	}
	// A semi-asynchronous round aggregates once enough clients reported.
	enough := func() bool { return false }
	need := max(1, int(math.Ceil(p.MinClientsFraction*float64(len(selected)))))
	if p.Async.On() {
		need = min(p.Async.MinUpdates, len(selected))
		enough = func() bool { return live.Counted >= need }
	}
	pending := waitForClients(ctx, p, finished, len(selected), gate, deadline, dropLate, enough)
	if !p.Async.On() {
		// Cancelled here, before the aggregation, as rounds always did (their histories
		// replay with this order of commands).
		cancelDeadline()
	}

	// What the aggregation gets: the clients finished by now. In a semi-asynchronous
	// round others finish while it runs; their updates wait for a later version.
	aggregated := slices.Clone(done)
	var counted []int
	for i, o := range outcomes {
		if aggregated[i] && o.Counted {
			counted = append(counted, o.Client)
		}
	}
	if len(counted) < need {
		return RoundResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("round %d: only %d of %d selected clients reported, %d needed (%s)", p.Round, len(counted), len(selected), need, firstErrors(outcomes, 3)),
			ErrTypeTooFewClients, nil)
	}

	var a *activities.Activities
	live.Phase = "aggregating"
	aggStart := workflow.Now(ctx)
	var agg activities.AggregateResult
	in := activities.AggregateInput{
		Experiment: p.Experiment, Round: p.Round, BaseVersion: p.BaseVersion, Clients: counted, Model: p.Model,
		Strategy: p.Strategy,
	}
	if p.Async.On() {
		in.Late = &flserver.LateFolding{Exponent: p.Async.StalenessExponent, MaxStaleness: p.Async.MaxStaleness}
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, aggregateOptions), a.Aggregate, in).Get(ctx, &agg)
	if err != nil {
		return RoundResult{}, fmt.Errorf("round %d: aggregate: %w", p.Round, err)
	}
	aggSeconds := workflow.Now(ctx).Sub(aggStart).Seconds()
	countedSet := map[int]bool{}
	for _, c := range agg.Counted {
		countedSet[c] = true
	}
	for i := range outcomes {
		if aggregated[i] && outcomes[i].Counted && !countedSet[outcomes[i].Client] {
			outcomes[i].Counted = false
			outcomes[i].Error = "update rejected by the aggregation"
		}
	}

	live.Phase, live.Counted = "evaluating", len(agg.Counted)
	evalStart := workflow.Now(ctx)
	var eval activities.EvaluateResult
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, evaluateOptions), a.Evaluate, activities.EvaluateInput{
		Experiment: p.Experiment, Version: agg.Version, Model: p.Model,
	}).Get(ctx, &eval)
	if err != nil {
		return RoundResult{}, fmt.Errorf("round %d: evaluate: %w", p.Round, err)
	}
	end := workflow.Now(ctx)

	retries, late := tally(outcomes)
	res := RoundResult{
		RoundSummary: RoundSummary{
			Round: p.Round, Version: agg.Version, Clients: len(selected), Counted: len(agg.Counted), Samples: agg.Samples,
			Retries: retries, Late: late, InvokeSeconds: lastAccepted.Sub(start).Seconds(), TrainSeconds: lastDone.Sub(lastAccepted).Seconds(),
			AggregateSeconds: aggSeconds, EvalSeconds: end.Sub(evalStart).Seconds(), TotalSeconds: end.Sub(start).Seconds(),
			Loss: eval.Loss, Accuracy: eval.Accuracy, Stale: len(agg.Stale), Running: pending,
		},
		Selected: selected, Rejected: agg.Rejected,
	}
	if p.Async.On() {
		if err := finishInBackground(ctx, p, &res, selected, done, &live, func() {
			waitForClients(ctx, p, finished, pending, gate, deadline, dropLate, func() bool { return false })
		}); err != nil {
			return RoundResult{}, err
		}
		for i := range outcomes {
			if !aggregated[i] && outcomes[i].Counted {
				outcomes[i].Counted, outcomes[i].Late = false, true
				outcomes[i].Error = "reported after the round's aggregation: its update waits for a later version"
			}
		}
		res.Retries, res.Late = tally(outcomes)
	}
	for i := range outcomes {
		outcomes[i].Reason = choices[i].Reason
	}
	res.Outcomes = outcomes
	if limit := cmp.Or(p.MaxRecordedRuns, DefaultMaxRecordedRuns); countRuns(outcomes) > limit {
		res.Outcomes, res.RunsInHistory = withoutPlainRuns(outcomes), true
	}
	live.Phase = "done"
	if p.Index {
		if err := workflow.UpsertTypedSearchAttributes(ctx, roundAttributes(res.RoundSummary)...); err != nil {
			return RoundResult{}, fmt.Errorf("round %d: search attributes: %w", p.Round, err)
		}
		if err := workflow.UpsertMemo(ctx, roundMemo(res.RoundSummary)); err != nil {
			return RoundResult{}, fmt.Errorf("round %d: memo: %w", p.Round, err)
		}
	}
	logger.Info("round finished", "round", p.Round, "counted", len(agg.Counted), "accuracy", eval.Accuracy)
	return res, nil
}

func countRuns(outcomes []ClientOutcome) int {
	n := 0
	for _, o := range outcomes {
		n += len(o.Runs)
	}
	return n
}

// withoutPlainRuns leaves out the runs of clients that succeeded at their first
// attempt; those runs are their PollActivation results in the history. A copy: the
// caller's outcomes stay whole.
func withoutPlainRuns(outcomes []ClientOutcome) []ClientOutcome {
	out := make([]ClientOutcome, len(outcomes))
	for i, o := range outcomes {
		if o.Counted && len(o.Runs) == 1 && o.Runs[0].Success {
			o.Runs = nil
		}
		out[i] = o
	}
	return out
}

// dropped marks a client still running when the round's deadline dropped it.
func dropped(out ClientOutcome) ClientOutcome {
	out.Late = true
	out.Counted = false
	out.Error = "dropped: still running at the round's deadline"
	return out
}

func firstErrors(outcomes []ClientOutcome, n int) string {
	msg := ""
	for _, o := range outcomes {
		if o.Counted || o.Error == "" {
			continue
		}
		if n == 0 {
			return msg + "; …"
		}
		if msg != "" {
			msg += "; "
		}
		msg += fmt.Sprintf("client %d: %s", o.Client, o.Error)
		n--
	}
	return msg
}
