package core

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/pool"
)

// DefaultMaxInstances is how many instances a platform keeps alive at once unless told:
// two per core, at least four.
func DefaultMaxInstances() int { return max(4, 2*runtime.NumCPU()) }

// DefaultIdleTimeout is how long an instance stays warm unused unless told.
const DefaultIdleTimeout = 10 * time.Minute

// Options configure an Invoker.
type Options[Resp any] struct {
	// MaxInstances caps the instances alive at once, over all functions
	// (DefaultMaxInstances when 0).
	MaxInstances int
	// IdleTimeout destroys instances left unused this long (DefaultIdleTimeout when 0).
	IdleTimeout time.Duration
	// Faults adds the injected cold-start and activation delays; nil adds none.
	Faults *faults.Injector
	// Failed is the answer of a function failing by an injected error fault, in the
	// platform's shape; nil answers the zero Resp.
	Failed func() Resp
}

// Invoker runs one platform's calls on its pool of instances, and the platform's
// background work, until Close.
type Invoker[Req, Resp any] struct {
	pool   *pool.Pool[Instance[Req, Resp]]
	faults *faults.Injector
	failed func() Resp
	idle   time.Duration
	ctx    context.Context // ends at Close, cutting calls and background work short
	cancel context.CancelFunc
	work   sync.WaitGroup
}

// New starts an invoker and its idle reaper; Close ends them.
func New[Req, Resp any](opts Options[Resp]) *Invoker[Req, Resp] {
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = DefaultMaxInstances()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	inv := &Invoker[Req, Resp]{
		pool: pool.New[Instance[Req, Resp]](opts.MaxInstances), faults: opts.Faults, failed: opts.Failed,
		idle: opts.IdleTimeout, ctx: ctx, cancel: cancel,
	}
	inv.Go(inv.reap)
	return inv
}

// Go runs work in the background. Its context ends at Close, which waits for it.
func (inv *Invoker[Req, Resp]) Go(work func(ctx context.Context)) {
	inv.work.Add(1)
	go func() {
		defer inv.work.Done()
		work(inv.ctx)
	}()
}

// Close cuts running calls and background work short, destroys every instance and
// waits for the background work to end.
func (inv *Invoker[Req, Resp]) Close() {
	inv.cancel()
	inv.pool.Close()
	inv.work.Wait()
}

// reap destroys idle instances, looking every tenth of the idle timeout but at most once
// a second, so a short timeout does not keep the fabric busy.
func (inv *Invoker[Req, Resp]) reap(ctx context.Context) {
	ticker := time.NewTicker(max(time.Second, inv.idle/10))
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			inv.pool.Reap(inv.idle)
		case <-ctx.Done():
			return
		}
	}
}

// Key names the instances of one version of a function.
func Key(function string, version int64) string {
	return function + "@" + strconv.FormatInt(version, 10)
}

// Purge destroys the idle instances of every version of function (it was deleted).
func (inv *Invoker[Req, Resp]) Purge(function string) {
	inv.pool.Purge(func(key string) bool {
		_, ok := versionOf(key, function)
		return ok
	})
}

// PurgeOld destroys the idle instances of function's versions other than current (it
// was updated). Busy ones are not kept warm when released, as their calls' Current says.
func (inv *Invoker[Req, Resp]) PurgeOld(function string, current int64) {
	inv.pool.Purge(func(key string) bool {
		version, ok := versionOf(key, function)
		return ok && version != current
	})
}

// versionOf reads a Key of function. Function names may hold "@" (OpenWhisk allows it),
// so "f@x@3" is a key of "f@x", never of "f".
func versionOf(key, function string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, function+"@")
	if !ok {
		return 0, false
	}
	version, err := strconv.ParseInt(rest, 10, 64)
	return version, err == nil
}
