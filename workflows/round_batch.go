package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/weights"
)

// MaxClientsPerActivity bounds a batch: its result and heartbeats hold every client's
// record (about 500 bytes each, more with retries), far under Temporal's 2 MB limit.
const MaxClientsPerActivity = 100

// batchOptions are RunBatch's. The batch tries each client as RunClient's policy would
// (activities.RunClientRetryPolicy); the batch itself is retried when its worker dies or
// stops, and resumes its clients from its heartbeats.
var batchOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 6 * time.Hour,
	HeartbeatTimeout:    15 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 20,
		NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig},
	},
}

// startBatches runs the selected clients in batches (RoundParams.Batched): the
// stragglers the round drops are reported at once, the others split into batches of
// batchSize, each a RunBatch activity once the window lets all its clients in.
func (r *round) startBatches(ctx workflow.Context) {
	var invoked []int
	for i := range r.selected {
		if r.drops(i) {
			r.dropStraggler(ctx, i)
			continue
		}
		invoked = append(invoked, i)
	}
	size := r.batchSize(len(invoked))
	for start := 0; start < len(invoked); start += size {
		slots := invoked[start:min(start+size, len(invoked))]
		workflow.Go(ctx, func(ctx workflow.Context) { r.runBatch(ctx, slots) })
	}
}

// batchSize is how many clients one RunBatch runs: the configured number, or a tenth
// of the round's (so a small round still spreads over several workers), at most
// MaxClientsPerActivity and never more than the window holds.
func (r *round) batchSize(n int) int {
	size := r.p.ClientsPerActivity
	if size <= 0 {
		size = min((n+9)/10, MaxClientsPerActivity)
	}
	return max(1, min(size, r.maxInFlight()))
}

// runBatch runs the given selected clients in one RunBatch and reports each.
func (r *round) runBatch(ctx workflow.Context, slots []int) {
	_ = r.window.Acquire(ctx, int64(len(slots))) // not cancelled: the batch drops late clients itself
	defer r.window.Release(int64(len(slots)))
	// Robust strategies need every update at once; the others merge running sums.
	task := activities.BatchTask{MaxAttempts: r.p.MaxAttempts, Fold: !r.p.NoFold && !r.p.Strategy.Robust()}
	if r.p.DeadlineSeconds > 0 {
		task.NoRetryAfter = r.start.Add(time.Duration(r.p.DeadlineSeconds * float64(time.Second)))
		if r.p.LateUpdates != LateAccept {
			task.DropAt = task.NoRetryAfter
		}
	}
	for _, i := range slots {
		task.Clients = append(task.Clients, r.taskOf(r.selected[i], 1, r.trainOf(i)))
		r.attempting(r.selected[i], 1, "")
	}
	var a *activities.Activities
	var res activities.BatchResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, batchOptions), a.RunBatch, task).Get(ctx, &res)
	if err == nil && len(res.Clients) != len(slots) {
		err = temporal.NewNonRetryableApplicationError("the batch answered for another number of clients", "BadBatch", nil)
	}
	if err == nil && res.Partial != "" {
		r.partials = append(r.partials, weights.PartialRef{Key: res.Partial, Digest: res.PartialDigest})
	}
	now := workflow.Now(ctx)
	for k, i := range slots {
		if err != nil {
			r.finish(ctx, i, batchFailed(r.selected[i], err), now)
			continue
		}
		rec := res.Clients[k]
		if !rec.AcceptedAt.IsZero() {
			r.accepted(rec.AcceptedAt)
		}
		r.live.Retries += max(0, rec.Attempts-1)
		r.live.Clients[i].Attempts, r.live.Clients[i].Platform = rec.Attempts, rec.Platform
		r.finish(ctx, i, outcomeOf(rec.ClientAttempts), cmpTime(rec.DoneAt, now))
	}
}

// cmpTime is t, or fallback when t is zero.
func cmpTime(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	return t
}

// batchFailed is the outcome of a client whose batch failed as a whole.
func batchFailed(client int, err error) ClientOutcome {
	return ClientOutcome{Client: client, Attempts: 1, Error: "run: " + err.Error(),
		Runs: []activities.ClientRun{{Client: client, Status: "failed", Error: err.Error()}}}
}
