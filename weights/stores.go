package weights

import (
	"context"
	"sync"
)

// Stores keeps one open Store per location, for functions whose warm instances reuse
// their connections between invocations. The zero value is ready to use.
type Stores struct {
	mu     sync.Mutex
	stores map[Options]*Store
}

// Get returns the store at opts, connecting on first use.
func (ss *Stores) Get(ctx context.Context, opts Options) (*Store, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.stores[opts]; ok {
		return s, nil
	}
	s, err := Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	if ss.stores == nil {
		ss.stores = map[Options]*Store{}
	}
	ss.stores[opts] = s
	return s, nil
}
