package activities

import (
	"context"
	"sync"
	"time"
)

// maxTurnWait bounds how long a client waits for the one before it to be invoked:
// the order is a help, never a queue that a slow or failing invocation holds up.
const maxTurnWait = time.Second

// turnsAhead is how many of a batch's invocations may be under way at once: enough
// that a batch's fan-out is not one request's latency times its clients (with 4 the
// fan-out of 1,000 clients doubled), few enough that the arrivals are out of order by
// little more than a cluster's parallel containers put them anyway.
const turnsAhead = 16

// invocationTurns makes a batch invoke its clients in the batch's order, at most
// turnsAhead at a time: each once every client turnsAhead or more before it was invoked
// (or its first try failed), or maxTurnWait passed. The
// batch folds its updates in that order, and a platform runs queued invocations
// roughly in the order it received them, so the updates then arrive nearly in the
// order they are folded in: a client that came last no longer holds back the folds of
// the many that finished before it. Only the first invocation waits; retries,
// redeployments and stragglers go as before.
type invocationTurns struct {
	mu   sync.Mutex
	done []chan struct{} // done[i] is closed once client i had its turn
	had  []bool
	wait time.Duration // at most, for the turn before
}

func newInvocationTurns(n int, wait time.Duration) *invocationTurns {
	t := &invocationTurns{done: make([]chan struct{}, n), had: make([]bool, n), wait: wait}
	for i := range t.done {
		t.done[i] = make(chan struct{})
	}
	return t
}

// taken marks client i's turn as had; later calls change nothing.
func (t *invocationTurns) taken(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.had[i] {
		t.had[i] = true
		close(t.done[i])
	}
}

// await waits for client i's turn: every client turnsAhead or more before it had its
// own, or the wait passed, or ctx ended.
func (t *invocationTurns) await(ctx context.Context, i int) {
	if i < turnsAhead {
		return
	}
	timer := time.NewTimer(t.wait)
	defer timer.Stop()
	for j := 0; j <= i-turnsAhead; j++ {
		select {
		case <-t.done[j]:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
