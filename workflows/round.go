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
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/functions/flserver"
	"github.com/fedkeeper/fedkeeper/weights"
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
		RetryPolicy:         activities.RunClientRetryPolicy(),
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
	r, err := newRound(ctx, p)
	if err != nil {
		return RoundResult{}, err
	}
	if r.batched() {
		r.startBatches(ctx)
	} else {
		r.startClients(ctx)
	}
	deadline, cancelDeadline := startDeadline(ctx, p)
	defer cancelDeadline()
	r.deadline = deadline
	pending := r.wait(ctx, len(r.selected), r.enough)
	if !p.Async.On() {
		// Cancelled here, before the aggregation, as rounds always did (their histories
		// replay with this order of commands).
		cancelDeadline()
	}
	// What the aggregation gets: the clients finished by now. In a semi-asynchronous
	// round others finish while it runs; their updates wait for a later version.
	aggregated := slices.Clone(r.done)
	counted := r.countedAmong(aggregated)
	if len(counted) < r.need {
		return RoundResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("round %d: only %d of %d selected clients reported, %d needed (%s)", p.Round, len(counted), len(r.selected), r.need, firstErrors(r.outcomes, 3)),
			ErrTypeTooFewClients, nil)
	}
	agg, aggSeconds, err := r.aggregate(ctx, counted)
	if err != nil {
		return RoundResult{}, err
	}
	r.markRejected(aggregated, agg)
	cleaned := r.cleanUp(ctx)
	eval, evalStart, err := r.evaluate(ctx, agg)
	if err != nil {
		return RoundResult{}, err
	}
	r.awaitCleanUp(ctx, cleaned)
	res := r.result(ctx, agg, eval, aggSeconds, evalStart, pending)
	if p.Async.On() {
		if err := r.finishStragglers(ctx, &res, aggregated); err != nil {
			return RoundResult{}, err
		}
	}
	if err := r.record(ctx, &res); err != nil {
		return RoundResult{}, err
	}
	workflow.GetLogger(ctx).Info("round finished", "round", p.Round, "counted", len(agg.Counted), "accuracy", eval.Accuracy)
	return res, nil
}

// CloseRetriesAfterAggregationChange is the workflow.GetVersion change ID of closing a
// semi-asynchronous round to new attempts once it aggregated: before it, a straggler
// that failed afterwards was invoked again.
const CloseRetriesAfterAggregationChange = "close-retries-after-aggregation"

// StragglersChange is the workflow.GetVersion change ID of simulated stragglers
// (RoundParams.Stragglers): rounds that have them mark them, give them fewer epochs and,
// without Keep, invoke the others only.
const StragglersChange = "simulated-stragglers"

// round is one RoundWorkflow's state: its clients' progress and outcomes, changed only
// by its methods, which the client coroutines and the main one call in turn (workflow
// coroutines never run at the same time).
type round struct {
	p        RoundParams
	choices  []selection.Choice
	selected []int
	// straggle is the local epochs of each selected client that straggles, 0 for the
	// others (see selection.Stragglers).
	straggle []int
	live     RoundProgress
	// slot is each selected client's index in selected (and in live.Clients).
	slot  map[int]int
	start time.Time
	// need is how many clients must report: the quorum, or in a semi-asynchronous
	// round the updates it aggregates after.
	need int

	outcomes               []ClientOutcome
	done                   []bool
	lastAccepted, lastDone time.Time
	gate                   retryGate
	// finished is buffered: a client never blocks on reporting, even when cancelled.
	finished workflow.Channel
	cancels  []workflow.CancelFunc
	// window holds the clients past MaxInFlight until a running one finishes: a
	// sliding window, so a round of any size stays under Temporal's pending-activity
	// limit.
	window workflow.Semaphore
	// partials are the batches' running sums of their updates (batched rounds).
	partials []weights.PartialRef
	// cleanUpApart: the aggregation leaves the round's updates to CleanUpRound, run
	// beside the evaluation (batched rounds with the CleanUpApartChange marker).
	cleanUpApart bool
	attempt      attemptFunc
	deadline     workflow.Future
}

func newRound(ctx workflow.Context, p RoundParams) (*round, error) {
	// Rounds started by earlier builds invoke and poll each client in two activities;
	// their histories replay that way. New rounds use one (activities.RunClient).
	attempt := invokeThenPoll
	if workflow.GetVersion(ctx, RunClientChange, workflow.DefaultVersion, 1) >= 1 {
		attempt = runInOneActivity
	}
	r := &round{p: p, choices: p.Chosen, start: workflow.Now(ctx), attempt: attempt}
	if len(r.choices) == 0 {
		r.choices = selection.Random(p.Seed, p.Round, p.TotalClients, p.ClientsPerRound)
	}
	r.selected = selection.Clients(r.choices)
	r.straggle = make([]int, len(r.selected))
	if p.Stragglers.On() && workflow.GetVersion(ctx, StragglersChange, workflow.DefaultVersion, 1) >= 1 {
		r.straggle = selection.Stragglers(p.Seed, p.Round, r.selected, p.Stragglers.Fraction, p.Train.Epochs)
	}
	r.live = RoundProgress{Round: p.Round, Selected: len(r.selected), Phase: "training", StartedAt: r.start,
		Clients: make([]ClientState, len(r.selected))}
	r.slot = make(map[int]int, len(r.selected))
	for i, c := range r.selected {
		r.live.Clients[i] = ClientState{Client: c, State: ClientWaiting}
		r.slot[c] = i
	}
	if err := workflow.SetQueryHandler(ctx, RoundProgressQuery, func() (RoundProgress, error) { return r.live, nil }); err != nil {
		return nil, err
	}
	// The quorum is of the clients invoked: stragglers a FedAvg round drops never are.
	r.need = max(1, int(math.Ceil(p.MinClientsFraction*float64(len(r.selected)-r.dropped()))))
	if p.Async.On() {
		r.need = min(p.Async.MinUpdates, len(r.selected))
	}
	r.outcomes = make([]ClientOutcome, len(r.selected))
	r.done = make([]bool, len(r.selected))
	r.finished = workflow.NewBufferedChannel(ctx, len(r.selected))
	r.cancels = make([]workflow.CancelFunc, len(r.selected))
	r.window = workflow.NewSemaphore(ctx, int64(r.maxInFlight()))
	r.cleanUpApart = r.batched() && workflow.GetVersion(ctx, CleanUpApartChange, workflow.DefaultVersion, 1) >= 1
	return r, nil
}

// CleanUpApartChange is the workflow.GetVersion change ID of cleaning a batched round
// up in an activity of its own beside the evaluation, instead of in the aggregation
// before it.
const CleanUpApartChange = "clean-up-beside-evaluation"

// maxInFlight bounds the round's clients running at once.
func (r *round) maxInFlight() int { return cmp.Or(max(r.p.MaxInFlight, 0), DefaultMaxInFlight) }

// batched says whether the round runs its clients in batches (RunBatch): rounds of
// this build do, unless semi-asynchronous, whose aggregation waits for updates one by
// one. Rounds started by earlier builds lack the parameter and run a client an
// activity.
func (r *round) batched() bool { return r.p.Batched && !r.p.Async.On() }

// startClients starts a coroutine per selected client.
func (r *round) startClients(ctx workflow.Context) {
	for i := range r.selected {
		clientCtx, cancel := workflow.WithCancel(ctx)
		r.cancels[i] = cancel
		workflow.Go(clientCtx, func(clientCtx workflow.Context) { r.runSlot(clientCtx, i) })
	}
}

// runSlot runs the i-th selected client once the window lets it, and reports it.
func (r *round) runSlot(ctx workflow.Context, i int) {
	client := r.selected[i]
	if r.drops(i) {
		r.dropStraggler(ctx, i)
		return
	}
	if err := r.window.Acquire(ctx, 1); err != nil {
		// Dropped at the deadline before its turn came.
		r.finish(ctx, i, dropped(ClientOutcome{Client: client}), time.Time{})
		return
	}
	defer r.window.Release(1)
	r.finish(ctx, i, r.runClient(ctx, client, r.trainOf(i)), workflow.Now(ctx))
}

// dropStraggler reports a straggler the round does not invoke.
func (r *round) dropStraggler(ctx workflow.Context, i int) {
	r.outcomes[i] = ClientOutcome{Client: r.selected[i], Straggler: true, Epochs: r.straggle[i],
		Error: fmt.Sprintf("straggler (%d of %d epochs): not invoked, %s drops stragglers' updates", r.straggle[i], r.p.Train.Epochs, r.p.Strategy.Kind())}
	r.live.Clients[i].State = ClientDropped
	r.report(ctx, i)
}

// finish records the i-th selected client's outcome and reports it; doneAt is when it
// finished, zero for a client dropped before it ran.
func (r *round) finish(ctx workflow.Context, i int, out ClientOutcome, doneAt time.Time) {
	r.outcomes[i] = out
	if doneAt.IsZero() {
		r.live.Clients[i].State = ClientDropped
		r.report(ctx, i)
		return
	}
	r.live.Clients[i].State = finalState(out)
	if e := r.straggle[i]; e > 0 {
		r.outcomes[i].Straggler, r.outcomes[i].Epochs = true, e
	}
	if out.Counted {
		r.live.Counted++
	}
	if doneAt.After(r.lastDone) {
		r.lastDone = doneAt
	}
	r.report(ctx, i)
}

// drops says whether the i-th selected client is a straggler the round does not
// invoke (a strategy other than FedProx drops stragglers' updates).
func (r *round) drops(i int) bool { return r.straggle[i] > 0 && !r.p.Stragglers.Keep }

// dropped counts the stragglers the round does not invoke.
func (r *round) dropped() int {
	n := 0
	for i := range r.straggle {
		if r.drops(i) {
			n++
		}
	}
	return n
}

// trainOf is the i-th selected client's training: the round's, with a straggler's
// fewer epochs.
func (r *round) trainOf(i int) model.TrainOptions {
	train := r.p.Train
	if e := r.straggle[i]; e > 0 {
		train.Epochs = e
	}
	return train
}

// finalState is a client's state once its coroutine has its outcome.
func finalState(o ClientOutcome) string {
	switch {
	case o.Late:
		return ClientLate
	case o.Counted:
		return ClientDone
	}
	return ClientFailed
}

// attempting marks a client's attempt n as running, and where it runs once known.
func (r *round) attempting(client, n int, platform string) {
	st := &r.live.Clients[r.slot[client]]
	st.Attempts, st.State = n, ClientRunning
	if n > 1 {
		st.State = ClientRetrying
	}
	if platform != "" {
		st.Platform = platform
	}
}

func (r *round) report(ctx workflow.Context, i int) {
	r.live.Done++
	r.done[i] = true
	r.finished.Send(ctx, i)
}

// accepted notes when a client's function was first accepted.
func (r *round) accepted(at time.Time) {
	if at.After(r.lastAccepted) {
		r.lastAccepted = at
	}
}

// enough says whether a semi-asynchronous round has the updates it aggregates after.
func (r *round) enough() bool { return r.p.Async.On() && r.live.Counted >= r.need }

// never is the wait's condition for all clients: none is enough.
func never() bool { return false }

// dropLate stops waiting for the clients still running: their updates are dropped.
func (r *round) dropLate() {
	for _, cancel := range r.cancels {
		cancel()
	}
}

// countedAmong lists the counted clients among those marked in which.
func (r *round) countedAmong(which []bool) []int {
	var counted []int
	for i, o := range r.outcomes {
		if which[i] && o.Counted {
			counted = append(counted, o.Client)
		}
	}
	return counted
}

// sortedPartials orders the batches' sums by key, as they finished in any order: the
// aggregation merges them in this order, so the version is the same bits in every run.
func sortedPartials(refs []weights.PartialRef) []weights.PartialRef {
	return slices.SortedFunc(slices.Values(refs), func(a, b weights.PartialRef) int { return cmp.Compare(a.Key, b.Key) })
}

// aggregate folds the counted clients' updates into the next version.
func (r *round) aggregate(ctx workflow.Context, counted []int) (activities.AggregateResult, float64, error) {
	var a *activities.Activities
	r.live.Phase = "aggregating"
	aggStart := workflow.Now(ctx)
	in := activities.AggregateInput{
		Experiment: r.p.Experiment, Round: r.p.Round, BaseVersion: r.p.BaseVersion, Clients: counted, Model: r.p.Model,
		Strategy: r.p.Strategy, Partials: sortedPartials(r.partials), KeepUpdates: r.cleanUpApart,
	}
	if r.p.Async.On() {
		in.Late = &flserver.LateFolding{Exponent: r.p.Async.StalenessExponent, MaxStaleness: r.p.Async.MaxStaleness}
	}
	var agg activities.AggregateResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, aggregateOptions), a.Aggregate, in).Get(ctx, &agg); err != nil {
		return agg, 0, fmt.Errorf("round %d: aggregate: %w", r.p.Round, err)
	}
	return agg, workflow.Now(ctx).Sub(aggStart).Seconds(), nil
}

// cleanUpOptions are CleanUpRound's: deletes, retried like the aggregation's.
var cleanUpOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Minute,
	HeartbeatTimeout:    15 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
	},
}

// cleanUp starts deleting a batched round's updates and sums beside its evaluation
// (the aggregation left them, AggregateInput.KeepUpdates); nil for other rounds, whose
// aggregation cleaned up.
func (r *round) cleanUp(ctx workflow.Context) workflow.Future {
	if !r.cleanUpApart {
		return nil
	}
	var a *activities.Activities
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, cleanUpOptions), a.CleanUpRound,
		activities.CleanUpInput{Experiment: r.p.Experiment, Round: r.p.Round})
}

// awaitCleanUp waits for the clean-up. Its failure costs space, not the round: the
// version is stored and scored.
func (r *round) awaitCleanUp(ctx workflow.Context, cleaned workflow.Future) {
	if cleaned == nil {
		return
	}
	if err := cleaned.Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("round's updates left in the store", "round", r.p.Round, "error", err)
	}
}

// markRejected uncounts the clients whose updates the aggregation rejected.
func (r *round) markRejected(aggregated []bool, agg activities.AggregateResult) {
	countedSet := map[int]bool{}
	for _, c := range agg.Counted {
		countedSet[c] = true
	}
	for i := range r.outcomes {
		if aggregated[i] && r.outcomes[i].Counted && !countedSet[r.outcomes[i].Client] {
			r.outcomes[i].Counted = false
			r.outcomes[i].Error = "update rejected by the aggregation"
		}
	}
}

// evaluate scores the new version on the test set.
func (r *round) evaluate(ctx workflow.Context, agg activities.AggregateResult) (activities.EvaluateResult, time.Time, error) {
	var a *activities.Activities
	r.live.Phase, r.live.Counted = "evaluating", len(agg.Counted)
	evalStart := workflow.Now(ctx)
	var eval activities.EvaluateResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, evaluateOptions), a.Evaluate, activities.EvaluateInput{
		Experiment: r.p.Experiment, Version: agg.Version, Model: r.p.Model, Synthetic: r.p.Synthetic,
	}).Get(ctx, &eval)
	if err != nil {
		return eval, evalStart, fmt.Errorf("round %d: evaluate: %w", r.p.Round, err)
	}
	return eval, evalStart, nil
}

// result is the round's record once its version is evaluated.
func (r *round) result(ctx workflow.Context, agg activities.AggregateResult, eval activities.EvaluateResult, aggSeconds float64, evalStart time.Time, pending int) RoundResult {
	end := workflow.Now(ctx)
	retries, late := tally(r.outcomes)
	return RoundResult{
		RoundSummary: RoundSummary{
			Round: r.p.Round, Version: agg.Version, Clients: len(r.selected), Counted: len(agg.Counted), Samples: agg.Samples,
			Retries: retries, Late: late, InvokeSeconds: r.lastAccepted.Sub(r.start).Seconds(), TrainSeconds: r.lastDone.Sub(r.lastAccepted).Seconds(),
			AggregateSeconds: aggSeconds, EvalSeconds: end.Sub(evalStart).Seconds(), TotalSeconds: end.Sub(r.start).Seconds(),
			Loss: eval.Loss, Accuracy: eval.Accuracy, Stale: len(agg.Stale), Running: pending, Stragglers: r.stragglers(),
			Merged: agg.FromPartials,
		},
		Selected: r.selected, Rejected: agg.Rejected,
	}
}

// stragglers counts the round's simulated stragglers.
func (r *round) stragglers() int {
	n := 0
	for _, e := range r.straggle {
		if e > 0 {
			n++
		}
	}
	return n
}

// finishStragglers is a semi-asynchronous round after its aggregation: no client is
// invoked again (rounds started before that change replay as they ran), the experiment
// is told, and the stragglers are awaited; their updates wait for a later version.
func (r *round) finishStragglers(ctx workflow.Context, res *RoundResult, aggregated []bool) error {
	if workflow.GetVersion(ctx, CloseRetriesAfterAggregationChange, workflow.DefaultVersion, 1) >= 1 {
		r.gate.aggregated = true
	}
	if err := finishInBackground(ctx, r.p, res, r.selected, r.done, &r.live, func() { r.wait(ctx, res.Running, never) }); err != nil {
		return err
	}
	for i := range r.outcomes {
		if !aggregated[i] && r.outcomes[i].Counted {
			r.outcomes[i].Counted, r.outcomes[i].Late = false, true
			r.outcomes[i].Error = "reported after the round's aggregation: its update waits for a later version"
		}
	}
	res.Retries, res.Late = tally(r.outcomes)
	return nil
}

// record completes the result with every client's outcome and indexes the round.
func (r *round) record(ctx workflow.Context, res *RoundResult) error {
	for i := range r.outcomes {
		r.outcomes[i].Reason = r.choices[i].Reason
	}
	res.Outcomes = r.outcomes
	if limit := cmp.Or(r.p.MaxRecordedRuns, DefaultMaxRecordedRuns); countRuns(r.outcomes) > limit {
		res.Outcomes, res.RunsInHistory = withoutPlainRuns(r.outcomes), true
	}
	r.live.Phase = "done"
	if !r.p.Index {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, roundAttributes(res.RoundSummary)...); err != nil {
		return fmt.Errorf("round %d: search attributes: %w", r.p.Round, err)
	}
	if err := workflow.UpsertMemo(ctx, roundMemo(res.RoundSummary)); err != nil {
		return fmt.Errorf("round %d: memo: %w", r.p.Round, err)
	}
	return nil
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
