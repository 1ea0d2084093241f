package weights

import "sync"

// contentCache keeps values in this process by a name derived from their content (a
// checksum or digest), so a hit needs neither a read nor a check: nothing else can bear
// that name. It holds at most maxEntries values and maxBytes of them, dropping the
// oldest first, and drops a group of them (a round's) on request. Safe for concurrent
// use.
type contentCache[V any] struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	order      []string // oldest first
	entries    map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	value V
	size  int64
	group string
}

func newContentCache[V any](maxEntries int, maxBytes int64) *contentCache[V] {
	return &contentCache[V]{maxEntries: maxEntries, maxBytes: maxBytes, entries: map[string]cacheEntry[V]{}}
}

// get returns the value of that name, if kept.
func (c *contentCache[V]) get(name string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	return e.value, ok
}

// put keeps a value of size bytes under its name, in a group, unless it alone would
// pass the byte bound; older values go until the bounds hold.
func (c *contentCache[V]) put(name, group string, value V, size int64) {
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[name]; ok {
		return // the same content, kept already
	}
	for len(c.order) > 0 && (len(c.order) >= c.maxEntries || c.bytes+size > c.maxBytes) {
		c.remove(c.order[0])
	}
	c.entries[name] = cacheEntry[V]{value: value, size: size, group: group}
	c.order = append(c.order, name)
	c.bytes += size
}

// dropGroup forgets the values of a group.
func (c *contentCache[V]) dropGroup(group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range append([]string(nil), c.order...) {
		if c.entries[name].group == group {
			c.remove(name)
		}
	}
}

// remove forgets one value; the caller holds mu.
func (c *contentCache[V]) remove(name string) {
	e, ok := c.entries[name]
	if !ok {
		return
	}
	delete(c.entries, name)
	c.bytes -= e.size
	for i, n := range c.order {
		if n == name {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}
