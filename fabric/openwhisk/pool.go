package openwhisk

import (
	"context"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/container"
)

// pool keeps function processes like an invoker keeps containers: a warm one of the
// same action version is reused, otherwise a new one starts (a cold start) while the
// total stays under max; when all slots are busy, activations queue.
type pool struct {
	mu      sync.Mutex
	max     int
	total   int
	idle    map[string][]idleContainer // by action key and version
	changed chan struct{}              // closed and replaced whenever a slot frees
	closed  bool
}

type idleContainer struct {
	c        *container.Container
	lastUsed time.Time
}

func newPool(max int) *pool {
	return &pool{max: max, idle: map[string][]idleContainer{}, changed: make(chan struct{})}
}

func (p *pool) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// acquire returns a container for key: warm if one is idle, otherwise started by start.
// cold reports a new process; it waits while every slot is busy.
func (p *pool) acquire(ctx context.Context, key string, start func() (*container.Container, error)) (c *container.Container, cold bool, err error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, false, context.Canceled
		}
		if list := p.idle[key]; len(list) > 0 {
			last := list[len(list)-1]
			p.idle[key] = list[:len(list)-1]
			p.mu.Unlock()
			if last.c.Alive() {
				return last.c, false, nil
			}
			p.release(key, last.c, false)
			continue
		}
		var victim *container.Container
		if p.total >= p.max {
			victim = p.evictLocked()
		}
		if p.total < p.max || victim != nil {
			if victim == nil {
				p.total++
			}
			p.mu.Unlock()
			if victim != nil {
				victim.Kill()
			}
			c, err := start()
			if err != nil {
				p.mu.Lock()
				p.total--
				p.broadcastLocked()
				p.mu.Unlock()
				return nil, true, err
			}
			return c, true, nil
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// evictLocked takes the least recently used idle container of any action, so its slot
// can serve another action.
func (p *pool) evictLocked() *container.Container {
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
		return nil
	}
	list := p.idle[oldestKey]
	victim := list[oldest].c
	p.idle[oldestKey] = append(list[:oldest], list[oldest+1:]...)
	return victim
}

// release hands a container back: kept warm when reusable, destroyed otherwise.
func (p *pool) release(key string, c *container.Container, reusable bool) {
	p.mu.Lock()
	if reusable && !p.closed && c.Alive() {
		p.idle[key] = append(p.idle[key], idleContainer{c: c, lastUsed: time.Now()})
		p.broadcastLocked()
		p.mu.Unlock()
		return
	}
	p.total--
	p.broadcastLocked()
	p.mu.Unlock()
	c.Kill()
}

// purge destroys the idle containers whose key starts with prefix (an action that was
// updated or deleted).
func (p *pool) purge(match func(key string) bool) {
	p.mu.Lock()
	var doomed []*container.Container
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

// reap destroys containers idle for longer than maxIdle.
func (p *pool) reap(maxIdle time.Duration) {
	cutoff := time.Now().Add(-maxIdle)
	p.mu.Lock()
	var doomed []*container.Container
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

// close destroys every idle container and refuses new work; busy containers are
// destroyed as they are released.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.purge(func(string) bool { return true })
}
