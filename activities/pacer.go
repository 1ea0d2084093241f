package activities

import (
	"context"
	"math/bits"
	"sync"
	"time"
)

// pollBudget is how many looks at running activations a worker aims at per second, in
// all: with many clients pending, each one looks less often, so a round of thousands
// does not spend the worker's CPU (and the platform's) on answers that say "not yet".
const pollBudget = 500

// maxPacedDelay bounds a paced look's wait however many activations are pending.
const maxPacedDelay = 5 * time.Second

// pollPacer spaces the polls of all the activations a worker waits for. The wait
// between two looks doubles up to maxPollDelay, and grows past it only while so many
// activations are pending that looking every maxPollDelay would pass the budget. As a
// round's clients finish the waits shrink again, and a poller already waiting long is
// woken whenever the pending count halves, so the last clients of a round are seen as
// soon as ever.
type pollPacer struct {
	mu      sync.Mutex
	pending int
	// halved, made by the first look at the limit, is closed and dropped when
	// pending falls below 1<<level.
	halved chan struct{}
	level  int
}

// begin counts one more activation waited for; the returned func ends that.
func (p *pollPacer) begin() (end func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending++
	p.level = max(p.level, floorLog2(p.pending))
	return p.end
}

func (p *pollPacer) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending--
	if p.pending < 1<<p.level {
		if p.halved != nil {
			close(p.halved)
			p.halved = nil
		}
		p.level = floorLog2(p.pending)
	}
}

// floorLog2 is ⌊log₂ n⌋, and 0 for n < 2.
func floorLog2(n int) int { return max(0, bits.Len(uint(n))-1) }

// limit is the longest wait between two looks now, and a channel closed when it
// may have shrunk.
func (p *pollPacer) limit() (time.Duration, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	paced := time.Duration(p.pending) * time.Second / pollBudget
	if p.halved == nil {
		p.halved = make(chan struct{})
	}
	return max(maxPollDelay, min(maxPacedDelay, paced)), p.halved
}

// next is the wait after one of delay, before the limit applies.
func (p *pollPacer) next(delay time.Duration) time.Duration { return min(2*delay, maxPacedDelay) }

// wait waits up to delay (shortened to the limit) before the next look, returning
// early once the limit falls to what has been waited already.
func (p *pollPacer) wait(ctx context.Context, delay time.Duration) error {
	began := time.Now()
	limit, halved := p.limit()
	timer := time.NewTimer(min(delay, limit))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case <-halved:
			limit, halved = p.limit()
			waited := time.Since(began)
			if waited >= min(delay, limit) {
				return nil
			}
			timer.Reset(min(delay, limit) - waited)
		}
	}
}
