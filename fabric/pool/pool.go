// Package pool keeps function instances like an invoker keeps containers: a warm one of
// the same function version is reused, otherwise a new one starts (a cold start) while
// the total stays under a cap; when every slot is busy, callers queue.
package pool

import (
	"context"
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
	mu      sync.Mutex
	max     int
	total   int
	idle    map[string][]idle[I] // by function key and version
	changed chan struct{}        // closed and replaced whenever a slot frees
	closed  bool
}

type idle[I Instance] struct {
	c        I
	lastUsed time.Time
}

// New returns a pool of at most max instances.
func New[I Instance](max int) *Pool[I] {
	return &Pool[I]{max: max, idle: map[string][]idle[I]{}, changed: make(chan struct{})}
}

func (p *Pool[I]) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Acquire returns an instance for key: warm if one is idle, otherwise started by start.
// cold reports a new instance; it waits while every slot is busy.
func (p *Pool[I]) Acquire(ctx context.Context, key string, start func() (I, error)) (c I, cold bool, err error) {
	var zero I
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
				p.broadcastLocked()
				p.mu.Unlock()
				return zero, true, err
			}
			return c, true, nil
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return zero, false, ctx.Err()
		}
	}
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
		p.broadcastLocked()
		p.mu.Unlock()
		return
	}
	p.total--
	p.broadcastLocked()
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
	p.broadcastLocked()
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
	p.broadcastLocked()
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
	p.mu.Unlock()
	p.Purge(func(string) bool { return true })
}
