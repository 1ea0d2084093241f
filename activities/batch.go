package activities

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// RunClientRetryPolicy is how a client's attempt is tried again after an error of the
// keeper's own (a cluster unavailable or throttling, a poll that failed) before the
// attempt counts as failed: RunClient's retry policy, which RunBatch applies to each
// of its clients itself.
func RunClientRetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 20,
		NonRetryableErrorTypes: []string{ErrTypeBadConfig, ErrTypeRejected},
	}
}

// BatchTask asks RunBatch to run some of a round's clients in one activity.
type BatchTask struct {
	// Clients are the clients' tasks; each one's Attempt is set by the batch.
	Clients     []ClientTask `json:"clients"`
	MaxAttempts int          `json:"max_attempts"`
	// NoRetryAfter is the round's deadline on the Temporal server's clock (zero: none):
	// from then on no client is invoked again.
	NoRetryAfter time.Time `json:"no_retry_after,omitzero"`
	// DropAt is when the clients still running are dropped (zero: never), the
	// deadline of a round that drops late updates.
	DropAt time.Time `json:"drop_at,omitzero"`
	// Fold sums the counted clients' updates as they finish into a partial sum for
	// the round's aggregation (FedAvg and the server optimisers).
	Fold bool `json:"fold,omitempty"`
}

// BatchResult is every client's record, in the task's order, and the key and digest
// of the partial sum of their updates (weights.PutPartial), if one was stored.
type BatchResult struct {
	Clients       []BatchClient `json:"clients"`
	Partial       string        `json:"partial,omitempty"`
	PartialDigest string        `json:"partial_digest,omitempty"`
}

// BatchClient is one client's record and when the batch saw it finish (server clock).
type BatchClient struct {
	ClientAttempts
	DoneAt time.Time `json:"done_at,omitzero"`
}

// RunBatch runs a round's clients concurrently in one activity, each through the same
// attempts a round of one activity per attempt makes (RunAttempts), so a round of
// thousands of clients costs Temporal a few dozen activities instead of thousands.
// Its heartbeats carry every client's state (the attempts made, the running
// invocation), so a retried batch (a dead worker, a stopped one handing its work back)
// resumes each client where it was instead of invoking it again.
func (a *Activities) RunBatch(ctx context.Context, task BatchTask) (BatchResult, error) {
	// The clock first: what the batch does before it would skew every time it reports.
	clock := startClock(ctx)
	task.Clients = a.withBaseChecksum(ctx, task.Clients)
	b := &batch{a: a, task: task, clock: clock, slots: make([]batchSlot, len(task.Clients))}
	b.resume(ctx)
	b.turns = newInvocationTurns(len(b.slots), a.turnWait)
	for i, s := range b.slots {
		if s.Done || s.Running != nil {
			b.turns.taken(i)
		}
	}
	b.sum = newBatchSum(a, task)
	for i, s := range b.slots {
		if s.Done {
			// A resumed batch rebuilds its sum from the stored updates.
			b.sum.done(ctx, i, s.Rec, nil)
		}
	}
	stop := every(ctx, time.Second, func() { activity.RecordHeartbeat(ctx, b.checkpoint()) })
	var wg sync.WaitGroup
	for i := range b.slots {
		if b.slots[i].Done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.run(ctx, i)
		}()
	}
	wg.Wait()
	stop()
	if err := ctx.Err(); err != nil {
		// Cancelled or stopped: the retry resumes from the heartbeats.
		activity.RecordHeartbeat(ctx, b.checkpoint())
		return BatchResult{}, err
	}
	res := b.result()
	res.Partial, res.PartialDigest = b.sum.store(ctx)
	return res, nil
}

// withBaseChecksum names each task's global version by its checksum, read once per
// version, so the clients' functions need not read its description each. A version
// that cannot be read is left unnamed: its clients read it themselves.
func (a *Activities) withBaseChecksum(ctx context.Context, tasks []ClientTask) []ClientTask {
	if a.deps.Store == nil {
		return tasks
	}
	tasks = slices.Clone(tasks)
	sums := map[baseKey]string{}
	for i, t := range tasks {
		key := baseKey{t.Experiment, t.BaseVersion}
		sum, ok := sums[key]
		if !ok {
			var err error
			if sum, err = a.deps.Store.GlobalChecksum(ctx, t.Experiment, t.BaseVersion); err != nil {
				activity.GetLogger(ctx).Warn("global checksum unread: the clients read the version's description", "version", t.BaseVersion, "error", err)
			}
			sums[key] = sum
		}
		tasks[i].BaseSHA256 = sum
	}
	return tasks
}

// baseKey names a global version.
type baseKey struct {
	experiment string
	version    int
}

// batch is one RunBatch's state, shared by its clients' goroutines.
type batch struct {
	a     *Activities
	task  BatchTask
	clock serverClock
	mu    sync.Mutex
	slots []batchSlot
	sum   *batchSum
	turns *invocationTurns
}

// batchSlot is one client's state in a batch: the heartbeats' details.
type batchSlot struct {
	// Rec holds the attempts made so far; once Done, the client's whole record.
	Rec    ClientAttempts `json:"rec"`
	Done   bool           `json:"done,omitempty"`
	DoneAt time.Time      `json:"done_at,omitzero"`
	// Running is the invocation of attempt Attempt, once made.
	Attempt int         `json:"attempt,omitempty"`
	Running *Invocation `json:"running,omitempty"`
}

// resume takes up the state a failed try at this batch left in its heartbeats.
func (b *batch) resume(ctx context.Context) {
	var slots []batchSlot
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &slots) == nil && len(slots) == len(b.slots) {
		b.slots = slots
		return
	}
	for i, t := range b.task.Clients {
		b.slots[i].Rec = ClientAttempts{Client: t.Client}
	}
}

func (b *batch) checkpoint() []batchSlot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.slots)
}

func (b *batch) result() BatchResult {
	res := BatchResult{Clients: make([]BatchClient, len(b.slots))}
	for i, s := range b.slots {
		res.Clients[i] = BatchClient{ClientAttempts: s.Rec, DoneAt: s.DoneAt}
	}
	return res
}

// run makes the i-th client's attempts, dropping it at the batch's DropAt.
func (b *batch) run(ctx context.Context, i int) {
	clientCtx, cancel := context.WithCancel(ctx)
	if !b.task.DropAt.IsZero() {
		clientCtx, cancel = context.WithDeadline(ctx, b.clock.local(b.task.DropAt))
	}
	defer cancel()
	b.mu.Lock()
	rec := b.slots[i].Rec
	b.mu.Unlock()
	defer b.turns.taken(i)
	b.turns.await(clientCtx, i)
	at := &batchAttempts{b: b, i: i, ctx: withHeartbeatSink(clientCtx, slotSink{b, i})}
	rec = RunAttempts(b.task.MaxAttempts, rec, at)
	if ctx.Err() != nil {
		return // the batch stopped: its retry goes on from the checkpoint
	}
	data := rec.takeUpdateBytes()
	b.mu.Lock()
	b.slots[i] = batchSlot{Rec: rec, Done: true, DoneAt: b.clock.now()}
	b.mu.Unlock()
	b.sum.done(ctx, i, rec, data)
}

// slotSink keeps a client's invocation, which its attempt hands to beat, in its slot.
type slotSink struct {
	b *batch
	i int
}

func (s slotSink) beat(details ...any) {
	if len(details) == 0 {
		return
	}
	if inv, ok := details[0].(Invocation); ok {
		s.b.mu.Lock()
		s.b.slots[s.i].Running = &inv
		s.b.mu.Unlock()
		s.b.turns.taken(s.i)
	}
}

// batchAttempts are one client's attempts in a batch.
type batchAttempts struct {
	b   *batch
	i   int
	ctx context.Context
}

func (t *batchAttempts) Closed() string {
	if at := t.b.task.NoRetryAfter; !at.IsZero() && !time.Now().Before(t.b.clock.local(at)) {
		return "the round's deadline passed"
	}
	return ""
}

func (t *batchAttempts) Dropped() bool { return t.ctx.Err() != nil }

// Try makes attempt n, trying again after the keeper's own errors as RunClient's retry
// policy does, and resuming the invocation a failed try or batch left.
func (t *batchAttempts) Try(n int) Attempt {
	task := t.b.task.Clients[t.i]
	task.Attempt = n
	policy := RunClientRetryPolicy()
	delay := policy.InitialInterval
	for try := int32(1); ; try++ {
		run, err := t.b.a.runClient(t.ctx, task, t.b.running(t.i, n), t.b.clock)
		t.b.turns.taken(t.i) // an invocation that failed gives the next client its turn too
		if err == nil || try == policy.MaximumAttempts || !retryable(err, policy) || t.ctx.Err() != nil {
			return AttemptOf(task.Client, run, err)
		}
		select {
		case <-t.ctx.Done():
		case <-time.After(delay):
		}
		delay = min(time.Duration(policy.BackoffCoefficient*float64(delay)), policy.MaximumInterval)
	}
}

// running is the invocation of attempt n of the i-th client made already, or nil;
// it marks attempt n as the one running.
func (b *batch) running(i, n int) *Invocation {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &b.slots[i]
	if s.Attempt != n {
		s.Attempt, s.Running = n, nil
	}
	return s.Running
}

// Recorded checkpoints the client's attempts so far: a resumed batch goes on after
// them, and the next attempt is invoked anew.
func (t *batchAttempts) Recorded(rec ClientAttempts) {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	t.b.slots[t.i].Rec, t.b.slots[t.i].Attempt, t.b.slots[t.i].Running = rec, 0, nil
}

// retryable says whether a retry policy tries an error again.
func retryable(err error, policy *temporal.RetryPolicy) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return !appErr.NonRetryable() && !slices.Contains(policy.NonRetryableErrorTypes, appErr.Type())
	}
	return true
}
