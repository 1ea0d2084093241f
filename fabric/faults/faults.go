// Package faults injects failures into the local fabric, so the keeper's resilience can
// be tested against what real platforms do: functions that crash, hang or fail, an API
// that answers 5xx or throttles, slow cold starts, and functions deleted under the
// keeper's feet. Draws come from a seeded source, so a chaos run can be repeated.
package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Faults are per-invocation probabilities (0–1) and a cold-start delay.
type Faults struct {
	// CrashRate kills the function process during the activation.
	CrashRate float64 `json:"crash_rate" mapstructure:"crash_rate"`
	// HangRate makes the activation hang until its time limit.
	HangRate float64 `json:"hang_rate" mapstructure:"hang_rate"`
	// ErrorRate makes the function answer with an error instead of running.
	ErrorRate float64 `json:"error_rate" mapstructure:"error_rate"`
	// ServerErrorRate makes the platform's API answer 503 without running anything.
	ServerErrorRate float64 `json:"server_error_rate" mapstructure:"server_error_rate"`
	// ThrottleRate makes the platform answer 429.
	ThrottleRate float64 `json:"throttle_rate" mapstructure:"throttle_rate"`
	// DeleteRate deletes the function (as an operator would) instead of invoking it.
	DeleteRate float64 `json:"delete_rate" mapstructure:"delete_rate"`
	// ColdStartDelay is added to every cold start ("2s", "500ms").
	ColdStartDelay string `json:"cold_start_delay" mapstructure:"cold_start_delay"`
	// Delay is added to every activation before its function runs: a slow device or
	// link, which makes the cluster's clients stragglers.
	Delay string `json:"delay,omitempty" mapstructure:"delay"`
	// Seed of the draws.
	Seed uint64 `json:"seed" mapstructure:"seed"`
}

// Kind names a fault.
type Kind string

// The faults.
const (
	Crash       Kind = "crash"
	Hang        Kind = "hang"
	Error       Kind = "error"
	ServerError Kind = "server_error"
	Throttle    Kind = "throttle"
	Delete      Kind = "delete"
	ColdDelay   Kind = "cold_start_delay"
	Slow        Kind = "delay"
)

// Check reports the first value out of range.
func (f Faults) Check() error {
	for name, p := range map[string]float64{"crash_rate": f.CrashRate, "hang_rate": f.HangRate, "error_rate": f.ErrorRate,
		"server_error_rate": f.ServerErrorRate, "throttle_rate": f.ThrottleRate, "delete_rate": f.DeleteRate} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("%s must be between 0 and 1, got %v", name, p)
		}
	}
	if _, err := duration("cold_start_delay", f.ColdStartDelay); err != nil {
		return err
	}
	if _, err := duration("delay", f.Delay); err != nil {
		return err
	}
	return nil
}

func duration(key, value string) (time.Duration, error) {
	if value == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s must be a duration like 2s, got %q", key, value)
	}
	return d, nil
}

// Injector draws faults; it is safe for concurrent use and counts what it injected.
type Injector struct {
	mu     sync.Mutex
	f      Faults
	delay  time.Duration // every cold start's
	slow   time.Duration // every activation's
	rng    *rand.Rand
	counts map[Kind]int
	// deployed counts the deployments of each function, so a test of a fault that
	// deletes functions can check they came back exactly once per deletion.
	deployed map[string]int
}

// New returns an injector of f (which must pass Check).
func New(f Faults) *Injector {
	i := &Injector{counts: map[Kind]int{}, deployed: map[string]int{}}
	i.Set(f)
	return i
}

// Set replaces the faults (at run time too) and restarts the draws from their seed.
func (i *Injector) Set(f Faults) {
	d, _ := duration("cold_start_delay", f.ColdStartDelay)
	slow, _ := duration("delay", f.Delay)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.f, i.delay, i.slow = f, d, slow
	i.rng = rand.New(rand.NewPCG(f.Seed, 0xfa17))
}

// Get returns the current faults.
func (i *Injector) Get() Faults {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.f
}

// Draw decides the fault of one invocation, at most one: platform faults first (the
// request never reaches a function), then function faults.
func (i *Injector) Draw() (Kind, bool) {
	if i == nil {
		return "", false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, c := range []struct {
		kind Kind
		rate float64
	}{{Throttle, i.f.ThrottleRate}, {ServerError, i.f.ServerErrorRate}, {Delete, i.f.DeleteRate},
		{Crash, i.f.CrashRate}, {Hang, i.f.HangRate}, {Error, i.f.ErrorRate}} {
		if c.rate > 0 && i.rng.Float64() < c.rate {
			i.counts[c.kind]++
			return c.kind, true
		}
	}
	return "", false
}

// ColdStart returns the delay to add to a cold start.
func (i *Injector) ColdStart() time.Duration {
	if i == nil {
		return 0
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.delay > 0 {
		i.counts[ColdDelay]++
	}
	return i.delay
}

// Activation returns the delay to add to every activation.
func (i *Injector) Activation() time.Duration {
	if i == nil {
		return 0
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.slow > 0 {
		i.counts[Slow]++
	}
	return i.slow
}

// Wait sleeps d, or until ctx ends.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Counts returns how often each fault was injected.
func (i *Injector) Counts() map[Kind]int {
	out := map[Kind]int{}
	if i == nil {
		return out
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	for k, v := range i.counts {
		out[k] = v
	}
	return out
}

// Deployed counts one deployment (a create or an update) of function fn.
func (i *Injector) Deployed(fn string) {
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.deployed[fn]++
}

// Deployments returns how often each function was deployed.
func (i *Injector) Deployments() map[string]int {
	out := map[string]int{}
	if i == nil {
		return out
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	for k, v := range i.deployed {
		out[k] = v
	}
	return out
}

// Status is what the fabric's faults endpoint shows.
type Status struct {
	Faults   Faults       `json:"faults"`
	Injected map[Kind]int `json:"injected"`
	// Deployments counts the deployments of each function, faults or none.
	Deployments map[string]int `json:"deployments"`
}

// MarshalStatus is the JSON of the injector's state.
func (i *Injector) MarshalStatus() ([]byte, error) {
	return json.Marshal(Status{Faults: i.Get(), Injected: i.Counts(), Deployments: i.Deployments()})
}
