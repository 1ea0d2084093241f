// Package health tells orchestrators whether a worker process is alive and whether it
// should get work: /healthz answers while the process serves, /readyz only while its
// Temporal worker runs and the Temporal frontend answers. A stopping worker turns
// unready first, so a load balancer or a compose health check stops counting on it
// before it hands its activities back.
package health

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Checker holds a worker's readiness.
type Checker struct {
	running atomic.Bool
	// probe asks the dependencies (the Temporal frontend) whether they answer.
	probe   func(context.Context) error
	timeout time.Duration
}

// New returns a checker that is not ready until SetRunning(true); probe is asked on
// every readiness check and may be nil.
func New(probe func(context.Context) error) *Checker {
	return &Checker{probe: probe, timeout: 3 * time.Second}
}

// SetRunning says whether the worker takes work.
func (c *Checker) SetRunning(running bool) { c.running.Store(running) }

// Ready returns nil when the worker takes work and its dependencies answer.
func (c *Checker) Ready(ctx context.Context) error {
	if !c.running.Load() {
		return fmt.Errorf("the worker is not running (starting or stopping)")
	}
	if c.probe == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.probe(ctx); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	return nil
}

// Live serves /healthz: the process is up and serving.
func (c *Checker) Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
}

// ReadyHandler serves /readyz: 200 when Ready, 503 with the reason otherwise.
func (c *Checker) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := c.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}
