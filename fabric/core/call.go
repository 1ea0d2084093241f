package core

import (
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/faults"
)

// Call is one invocation as a platform hands it to the Invoker.
type Call[Req, Resp any] struct {
	// Key names the function version (see Key); only calls of the same key share
	// instances.
	Key string
	// Runtime starts an instance from Spec when no warm one is idle.
	Runtime Runtime[Req, Resp]
	Spec    Spec
	Request Req
	// Timeout is the run's time limit.
	Timeout time.Duration
	// Received is when the platform took the call: its wait counts from there.
	Received time.Time
	// Fault is the fault drawn for the call. The Invoker applies the function faults
	// (crash, hang, error) and ignores the others, which the platform answers itself.
	Fault faults.Kind
	// Current reports, once the function answered, whether Key is still the function's
	// live version: an instance of a replaced version is not kept warm. Nil means yes.
	Current func() bool
}

// Outcome is what became of a call.
type Outcome[Resp any] struct {
	Response Resp
	Logs     []string
	// Err is nil when the instance answered, or an injected error fault answered for
	// it. A call that got no instance has a *StartError; one past its time limit
	// matches ErrTimeout; one whose context ended matches the context's error.
	Err error
	// Fault is the function fault applied to the call, or "".
	Fault faults.Kind
	// Cold reports a new instance; Init is how long its start took, the injected
	// cold-start delay included.
	Cold bool
	Init time.Duration
	// Received is the call's. Started is when its cold start began or its warm instance
	// was found, Ended when its run ended.
	Received, Started, Ended time.Time
}

// Wait is how long the call queued for an instance.
func (o Outcome[Resp]) Wait() time.Duration { return o.Started.Sub(o.Received) }

// StartError is a call that got no instance: its start failed, or the call ended while
// it waited for a free slot.
type StartError struct{ Err error }

func (e *StartError) Error() string { return "start an instance: " + e.Err.Error() }

func (e *StartError) Unwrap() error { return e.Err }
