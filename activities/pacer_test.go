package activities

import (
	"context"
	"testing"
	"time"
)

func TestPollPacerSpreadsTheBudgetOverThePending(t *testing.T) {
	tests := []struct {
		pending int
		want    time.Duration
	}{
		{0, maxPollDelay},
		{10, maxPollDelay},
		{pollBudget / 4, maxPollDelay},
		{pollBudget, time.Second},
		{2 * pollBudget, 2 * time.Second},
		{100 * pollBudget, maxPacedDelay},
	}
	for _, tc := range tests {
		var p pollPacer
		for range tc.pending {
			p.begin()
		}
		if got, _ := p.limit(); got != tc.want {
			t.Errorf("%d pending: limit %v, want %v", tc.pending, got, tc.want)
		}
	}
}

// While activations finish quickly, the pending ones are looked at about as often as
// one finishes; until two finished, and when they finish slowly, every maxPollDelay;
// and never faster than minPollDelay.
func TestPollPacerLooksAsOftenAsActivationsFinish(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		ends    int           // activations ended, the last one now
		every   time.Duration // apart
		pending int
		want    time.Duration
	}{
		{"none ended yet", 0, 0, 10, maxPollDelay},
		{"one ended", 1, 0, 10, maxPollDelay},
		{"10 ms apart, 10 pending", 40, 10 * time.Millisecond, 10, 100 * time.Millisecond},
		{"10 ms apart, 2 pending", 40, 10 * time.Millisecond, 2, minPollDelay},
		{"10 ms apart, 100 pending", 40, 10 * time.Millisecond, 100, maxPollDelay},
		{"a second apart, 1 pending", 40, time.Second, 1, maxPollDelay},
		{"all at once", 16, 0, 5, minPollDelay},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p pollPacer
			for i := range tc.ends {
				p.ends[p.ended%recentEnds] = now.Add(-time.Duration(tc.ends-1-i) * tc.every)
				p.ended++
			}
			p.pending = tc.pending
			// At the last end, the span covers recentEnds-1 gaps; the floor is
			// measured a gap later, over recentEnds gaps.
			if got := p.floor(now.Add(tc.every)); got != tc.want {
				t.Errorf("floor %v, want %v", got, tc.want)
			}
		})
	}
}

// A poller waiting long, paced by many pending activations, looks again as soon as
// enough of them finished that its wait is past the new limit.
func TestPollPacerWakesALongWaitWhenThePendingHalve(t *testing.T) {
	var p pollPacer
	ends := make([]func(), 4*pollBudget)
	for i := range ends {
		ends[i] = p.begin()
	}
	if limit, _ := p.limit(); limit != 4*time.Second {
		t.Fatalf("limit %v with %d pending", limit, len(ends))
	}
	p.mu.Lock()
	p.halved = nil // so the loop below sees the poller's own look at the limit
	p.mu.Unlock()
	done := make(chan time.Duration)
	go func() {
		began := time.Now()
		_ = p.wait(context.Background(), time.Hour)
		done <- time.Since(began)
	}()
	// Wait for the poller to take its limit: it then holds the channel the ends close.
	for {
		p.mu.Lock()
		waiting := p.halved != nil
		p.mu.Unlock()
		if waiting {
			break
		}
	}
	for _, end := range ends {
		end()
	}
	select {
	case waited := <-done:
		if waited >= 4*time.Second {
			t.Fatalf("waited %v, the whole paced limit", waited)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the poller was not woken when its activations finished")
	}
}
