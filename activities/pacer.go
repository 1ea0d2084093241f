package activities

import (
	"sync/atomic"
	"time"
)

// pollBudget is how many looks at running activations a worker aims at per second, in
// all: with many clients pending, each one looks less often, so a round of thousands
// does not spend the worker's CPU (and the platform's) on answers that say "not yet".
// Near a round's end few remain, and each looks every maxPollDelay again.
const pollBudget = 2000

// maxPacedDelay bounds a paced look's wait however many activations are pending.
const maxPacedDelay = 2 * time.Second

// pollPacer spaces the polls of all the activations a worker waits for.
type pollPacer struct {
	pending atomic.Int64
}

// begin counts one more activation waited for; the returned func ends that.
func (p *pollPacer) begin() (end func()) {
	p.pending.Add(1)
	return func() { p.pending.Add(-1) }
}

// next is the wait after one of delay: doubling up to maxPollDelay, and beyond it
// while so many activations are pending that looking every maxPollDelay would pass
// the budget.
func (p *pollPacer) next(delay time.Duration) time.Duration {
	limit := max(maxPollDelay, min(maxPacedDelay, time.Duration(p.pending.Load())*time.Second/pollBudget))
	return min(2*delay, limit)
}
