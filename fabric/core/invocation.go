package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/faults"
)

// Invoke runs one call: it takes a warm instance of call.Key or starts one (a cold
// start, after the injected cold-start delay), waits the injected activation delay,
// runs the request or applies the call's function fault, and releases the instance:
// kept warm after an answer of the live version, destroyed otherwise. The call ends
// early when ctx ends or the invoker closes.
func (inv *Invoker[Req, Resp]) Invoke(ctx context.Context, call Call[Req, Resp]) Outcome[Resp] {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(inv.ctx, cancel)
	defer stop()
	if call.Received.IsZero() {
		call.Received = time.Now()
	}
	c := &invocation[Req, Resp]{inv: inv, ctx: ctx, call: call, out: Outcome[Resp]{Received: call.Received}}
	if inst, ok := c.acquire(); ok {
		c.run(inst)
	}
	return c.out
}

// invocation is one call on its way through the invoker; it fills in the outcome as it
// goes.
type invocation[Req, Resp any] struct {
	inv  *Invoker[Req, Resp]
	ctx  context.Context
	call Call[Req, Resp]
	out  Outcome[Resp]
}

// acquire takes an instance for the call; without one the outcome is a StartError.
func (c *invocation[Req, Resp]) acquire() (Instance[Req, Resp], bool) {
	inst, cold, err := c.inv.pool.Acquire(c.ctx, c.call.Key, c.start)
	c.out.Cold = cold
	if !cold {
		c.out.Started = time.Now()
	}
	if err != nil {
		c.out.Err, c.out.Ended = &StartError{Err: err}, time.Now()
		return nil, false
	}
	return inst, true
}

// start is a cold start: the injected delay, then the runtime's start, both in the
// instance's init time.
func (c *invocation[Req, Resp]) start() (Instance[Req, Resp], error) {
	c.out.Started = time.Now()
	if err := faults.Wait(c.ctx, c.inv.faults.ColdStart()); err != nil {
		return nil, err
	}
	inst, err := c.call.Runtime.Start(c.ctx, c.call.Spec)
	c.out.Init = time.Since(c.out.Started)
	return inst, err
}

// run serves the call on inst and releases it.
func (c *invocation[Req, Resp]) run(inst Instance[Req, Resp]) {
	limit := Limit{Timeout: c.call.Timeout, Deadline: time.Now().Add(c.call.Timeout)}
	c.out.Err = c.apply(inst, limit)
	c.out.Ended = time.Now()
	reusable := c.out.Err == nil && (c.call.Current == nil || c.call.Current())
	c.inv.pool.Release(c.call.Key, inst, reusable)
}

// apply runs the request, or fails it the way the call's function fault says.
func (c *invocation[Req, Resp]) apply(inst Instance[Req, Resp], limit Limit) error {
	// A slow device: the delay is part of the activation, inside its deadline. When the
	// caller goes away or the fabric shuts down meanwhile, nobody wants the function run.
	if err := faults.Wait(c.ctx, c.inv.faults.Activation()); err != nil {
		return fmt.Errorf("injected activation delay: %w", err)
	}
	var err error
	switch c.call.Fault {
	case faults.Crash:
		err = c.crash(inst, limit)
	case faults.Hang:
		err = c.hang()
	case faults.Error:
		if c.inv.failed != nil {
			c.out.Response = c.inv.failed()
		}
	default:
		c.out.Response, c.out.Logs, err = inst.Run(c.ctx, c.call.Request, limit)
		return err
	}
	c.out.Fault = c.call.Fault
	return err
}

// crash kills the instance under the request, as a process dying mid-activation: the
// request meets a dead process, which Run reports, handing over what it had logged.
func (c *invocation[Req, Resp]) crash(inst Instance[Req, Resp], limit Limit) error {
	inst.Kill()
	var err error
	_, c.out.Logs, err = inst.Run(c.ctx, c.call.Request, limit)
	if err == nil {
		return errors.New("injected crash: the killed instance still answered")
	}
	return fmt.Errorf("injected crash: %w", err)
}

// hang holds the call until its time limit, as a function that never answers.
func (c *invocation[Req, Resp]) hang() error {
	if err := faults.Wait(c.ctx, c.call.Timeout); err != nil {
		return fmt.Errorf("injected hang: %w", err)
	}
	return fmt.Errorf("injected hang: %w", ErrTimeout)
}
