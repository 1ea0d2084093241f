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

// While activations finish quickly, each pending one is looked at about as often as
// one of them finishes: every pending/rate, from minPollDelay up to maxPollDelay, with
// rate the finishes per second of the last recentEnds. So the looks grow with the
// finishes rather than with the time waited: the last clients of a round of short ones
// are seen done within tens of milliseconds, and a round of long clients is looked at
// every maxPollDelay, as before.
const (
	minPollDelay = 50 * time.Millisecond
	recentEnds   = 16
)

// pollPacer spaces the polls of all the activations a worker waits for. The wait
// between two looks doubles up to the floor the recent finishes call for, and grows past
// it only while so many activations are pending that looking that often would pass the
// budget. As a
// round's clients finish the waits shrink again, and a poller already waiting long is
// woken whenever the pending count halves, so the last clients of a round are seen as
// soon as ever.
type pollPacer struct {
	mu      sync.Mutex
	pending int
	// ends are the times of the last recentEnds ends, a ring from next; ended counts
	// all of them.
	ends  [recentEnds]time.Time
	ended int
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
	p.ends[p.ended%recentEnds] = time.Now()
	p.ended++
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
	return max(p.floor(time.Now()), min(maxPacedDelay, paced)), p.halved
}

// floor is the wait between two looks the recent finishes call for (see minPollDelay):
// maxPollDelay until two activations ended. The caller holds mu.
func (p *pollPacer) floor(now time.Time) time.Duration {
	n := min(p.ended, recentEnds)
	if n < 2 {
		return maxPollDelay
	}
	oldest := p.ends[(p.ended-n)%recentEnds]
	span := now.Sub(oldest)
	if span <= 0 {
		return minPollDelay
	}
	// pending / (n / span)
	return min(maxPollDelay, max(minPollDelay, span*time.Duration(p.pending)/time.Duration(n)))
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
