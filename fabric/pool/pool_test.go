package pool

import (
	"context"
	"sync/atomic"
	"testing"
)

type fakeInstance struct {
	name   string
	killed atomic.Bool
}

func (f *fakeInstance) Alive() bool { return !f.killed.Load() }
func (f *fakeInstance) Kill()       { f.killed.Store(true) }

// queued waits until n callers queue, by the pool's own count (no sleeping).
func queued(t *testing.T, p *Pool[*fakeInstance], n int) {
	t.Helper()
	for {
		p.mu.Lock()
		got := len(p.waiters)
		p.mu.Unlock()
		if got == n {
			return
		}
		if got > n {
			t.Fatalf("%d callers queued, want %d", got, n)
		}
	}
}

func starter(name string) func() (*fakeInstance, error) {
	return func() (*fakeInstance, error) { return &fakeInstance{name: name}, nil }
}

// acquireInBackground queues an Acquire and reports the instance it got.
func acquireInBackground(p *Pool[*fakeInstance], key string, got chan<- string) {
	go func() {
		c, _, err := p.Acquire(context.Background(), key, starter(key+"-new"))
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- c.name
	}()
}

func TestQueuedCallersAreServedInOrderOneWakeUpEach(t *testing.T) {
	p := New[*fakeInstance](1)
	first, cold, err := p.Acquire(context.Background(), "a", starter("a1"))
	if err != nil || !cold {
		t.Fatalf("first acquire: cold %v, %v", cold, err)
	}
	got := make([]chan string, 3)
	for i := range got {
		got[i] = make(chan string, 1)
		acquireInBackground(p, "a", got[i])
		queued(t, p, i+1)
	}
	for i := range got {
		p.Release("a", first, true)
		// One release wakes one waiter, synchronously; the others keep their places.
		p.mu.Lock()
		left := len(p.waiters)
		p.mu.Unlock()
		if want := len(got) - i - 1; left != want {
			t.Fatalf("after release %d: %d callers still queued, want %d", i, left, want)
		}
		if name := <-got[i]; name != "a1" {
			t.Fatalf("caller %d got %q, want the warm a1", i, name)
		}
	}
}

func TestAFreedSlotServesAnotherFunction(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reusable bool
	}{
		{"idle instance evicted", true},
		{"slot of a destroyed instance", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New[*fakeInstance](1)
			a, _, err := p.Acquire(context.Background(), "a", starter("a1"))
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			acquireInBackground(p, "b", got)
			queued(t, p, 1)
			p.Release("a", a, tc.reusable)
			if name := <-got; name != "b-new" {
				t.Fatalf("the waiter for b got %q", name)
			}
			if !a.killed.Load() {
				t.Fatal("a's instance should be gone to make room for b")
			}
		})
	}
}

func TestAWaiterForTheReleasedFunctionGoesFirst(t *testing.T) {
	p := New[*fakeInstance](1)
	a, _, err := p.Acquire(context.Background(), "a", starter("a1"))
	if err != nil {
		t.Fatal(err)
	}
	forB, forA := make(chan string, 1), make(chan string, 1)
	acquireInBackground(p, "b", forB)
	queued(t, p, 1)
	acquireInBackground(p, "a", forA)
	queued(t, p, 2)
	p.Release("a", a, true)
	if name := <-forA; name != "a1" {
		t.Fatalf("the waiter for a got %q, want the warm a1", name)
	}
	queued(t, p, 1) // b still waits: nothing was freed for it
}

func TestCloseWakesWaiters(t *testing.T) {
	p := New[*fakeInstance](1)
	if _, _, err := p.Acquire(context.Background(), "a", starter("a1")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	acquireInBackground(p, "a", got)
	queued(t, p, 1)
	p.Close()
	if name := <-got; name != "error: context canceled" {
		t.Fatalf("a waiter of a closed pool got %q", name)
	}
}

func TestCancelledWaiterLeavesTheQueue(t *testing.T) {
	p := New[*fakeInstance](1)
	a, _, err := p.Acquire(context.Background(), "a", starter("a1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := p.Acquire(ctx, "a", starter("never"))
		done <- err
	}()
	queued(t, p, 1)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled waiter: %v", err)
	}
	queued(t, p, 0)
	p.Release("a", a, true)
	if c, cold, err := p.Acquire(context.Background(), "a", starter("new")); err != nil || cold || c != a {
		t.Fatalf("the warm instance should be idle for the next caller: %v cold %v", err, cold)
	}
}
