// Package pool keeps function instances like an invoker keeps containers: a warm one of
// the same function version is reused, otherwise a new one starts (a cold start) while
// the total stays under a cap; when every slot is busy, callers queue, first come first
// served, and each freed slot wakes one of them.
package pool

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Instance is one running function instance.
type Instance interface {
	Alive() bool
	Kill()
}

// Pool holds the instances of every function of one platform.
type Pool[I Instance] struct {
	mu    sync.Mutex
	max   int
	total int
	idle  map[string][]idle[I] // by function key and version
	// waiters queue for a slot, oldest first. One freed slot wakes one of them: waking
	// them all made a thousand queued invocations cost a million wake-ups a round.
	waiters []*waiter
	closed  bool
}

// waiter is one Acquire waiting for a slot; ready is closed when it is woken.
type waiter struct {
	key   string
	ready chan struct{}
}

type idle[I Instance] struct {
	c        I
	lastUsed time.Time
}

// New returns a pool of at most max instances.
func New[I Instance](max int) *Pool[I] {
	return &Pool[I]{max: max, idle: map[string][]idle[I]{}}
}

// wakeLocked wakes the oldest waiter for key, which can take the instance just made
// idle, or else the oldest of all, which can evict it or take the freed slot.
func (p *Pool[I]) wakeLocked(key string) {
	i := slices.IndexFunc(p.waiters, func(w *waiter) bool { return w.key == key })
	if i < 0 && len(p.waiters) > 0 {
		i = 0
	}
	if i < 0 {
		return
	}
	w := p.waiters[i]
	p.waiters = slices.Delete(p.waiters, i, i+1)
	close(w.ready)
}

// wakeAllLocked wakes every waiter: after several slots freed at once, or the close.
func (p *Pool[I]) wakeAllLocked() {
	for _, w := range p.waiters {
		close(w.ready)
	}
	p.waiters = nil
}

// Acquire returns an instance for key: warm if one is idle, otherwise started by start.
// cold reports a new instance; it waits while every slot is busy.
func (p *Pool[I]) Acquire(ctx context.Context, key string, start func() (I, error)) (c I, cold bool, err error) {
	var zero I
	woken := false
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return zero, false, context.Canceled
		}
		if list := p.idle[key]; len(list) > 0 {
			last := list[len(list)-1]
			p.idle[key] = list[:len(list)-1]
			p.mu.Unlock()
			if last.c.Alive() {
				return last.c, false, nil
			}
			p.Release(key, last.c, false)
			continue
		}
		victim, evicted := zero, false
		if p.total >= p.max {
			victim, evicted = p.evictLocked()
		}
		if p.total < p.max || evicted {
			if !evicted {
				p.total++
			}
			p.mu.Unlock()
			if evicted {
				victim.Kill()
			}
			c, err := start()
			if err != nil {
				p.mu.Lock()
				p.total--
				p.wakeLocked(key)
				p.mu.Unlock()
				return zero, true, err
			}
			return c, true, nil
		}
		if err := p.wait(ctx, key, woken); err != nil {
			return zero, false, err
		}
		woken = true
	}
}

// wait queues for a slot, with p.mu held, and returns, unlocked, once woken. A waiter
// woken before that found nothing left (a newcomer took it) keeps its place at the
// front. One that gives up after its wake-up passes the wake-up on.
func (p *Pool[I]) wait(ctx context.Context, key string, woken bool) error {
	w := &waiter{key: key, ready: make(chan struct{})}
	if woken {
		p.waiters = slices.Insert(p.waiters, 0, w)
	} else {
		p.waiters = append(p.waiters, w)
	}
	p.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.waiters, w); i >= 0 {
		p.waiters = slices.Delete(p.waiters, i, i+1)
	} else {
		p.wakeLocked(key)
	}
	return ctx.Err()
}

// evictLocked takes the least recently used idle instance of any function, so its
// slot can serve another function.
func (p *Pool[I]) evictLocked() (I, bool) {
	var zero I
	var oldestKey string
	oldest := -1
	var when time.Time
	for key, list := range p.idle {
		for i, ic := range list {
			if oldest < 0 || ic.lastUsed.Before(when) {
				oldestKey, oldest, when = key, i, ic.lastUsed
			}
		}
	}
	if oldest < 0 {
		return zero, false
	}
	list := p.idle[oldestKey]
	victim := list[oldest].c
	p.idle[oldestKey] = append(list[:oldest], list[oldest+1:]...)
	return victim, true
}

// Release hands an instance back: kept warm when reusable, destroyed otherwise.
func (p *Pool[I]) Release(key string, c I, reusable bool) {
	p.mu.Lock()
	if reusable && !p.closed && c.Alive() {
		p.idle[key] = append(p.idle[key], idle[I]{c: c, lastUsed: time.Now()})
		p.wakeLocked(key)
		p.mu.Unlock()
		return
	}
	p.total--
	p.wakeLocked(key)
	p.mu.Unlock()
	c.Kill()
}

// Purge destroys the idle instances whose key matches (a function that was updated
// or deleted).
func (p *Pool[I]) Purge(match func(key string) bool) {
	p.mu.Lock()
	var doomed []I
	for key, list := range p.idle {
		if match(key) {
			for _, ic := range list {
				doomed = append(doomed, ic.c)
			}
			delete(p.idle, key)
		}
	}
	p.total -= len(doomed)
	p.wakeAllLocked()
	p.mu.Unlock()
	for _, c := range doomed {
		c.Kill()
	}
}

// Reap destroys instances idle for longer than maxIdle.
func (p *Pool[I]) Reap(maxIdle time.Duration) {
	cutoff := time.Now().Add(-maxIdle)
	p.mu.Lock()
	var doomed []I
	for key, list := range p.idle {
		kept := list[:0]
		for _, ic := range list {
			if ic.lastUsed.Before(cutoff) {
				doomed = append(doomed, ic.c)
			} else {
				kept = append(kept, ic)
			}
		}
		p.idle[key] = kept
	}
	p.total -= len(doomed)
	p.wakeAllLocked()
	p.mu.Unlock()
	for _, c := range doomed {
		c.Kill()
	}
}

// Close destroys every idle instance and refuses new work; busy instances are
// destroyed as they are released.
func (p *Pool[I]) Close() {
	p.mu.Lock()
	p.closed = true
	p.wakeAllLocked()
	p.mu.Unlock()
	p.Purge(func(string) bool { return true })
}
