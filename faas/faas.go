// Package faas is FedKeeper's view of a FaaS platform: deploy, remove, invoke and poll
// a function, whatever the platform. Adapters live in the sub-packages; errors are
// classified here so the keeper can decide to retry, back off or redeploy.
package faas

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/deployment"
)

// Function is what to deploy.
type Function struct {
	Name string
	// Code is the platform's package: for OpenWhisk a zip holding an "exec" binary (Go)
	// or __main__.py (Python), or a single Python file; for Cloud Functions a source zip;
	// OpenFaaS takes an image reference in Image instead.
	Code []byte
	// Kind is the runtime: "go:1.22" or "python:3.11" on OpenWhisk, "go122" or
	// "python311" on Cloud Functions.
	Kind string
	// EntryPoint is the function's name in its source (Cloud Functions' entryPoint,
	// OpenWhisk's main).
	EntryPoint string
	// Image is the container image: OpenFaaS's, or an OpenWhisk docker action's (kind
	// blackbox, with Code as its code).
	Image    string
	MemoryMB int
	// Concurrency is OpenWhisk's activations per container.
	Concurrency int
	Timeout     time.Duration
	// Env are settings that are not secret, as environment variables.
	Env map[string]string
	// Secrets are what the function reads from its deployment (see package
	// deployment); each adapter hands them over through its platform's own secret
	// mechanism, never as plain settings that listing functions would show.
	Secrets     map[deployment.Setting]string
	Annotations map[string]any
}

// Activation is the outcome of one invocation.
type Activation struct {
	ID string `json:"id"`
	// Status is the platform's outcome text; Success is true only for a success.
	Status  string          `json:"status"`
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result,omitempty"`
	Start   time.Time       `json:"start"`
	End     time.Time       `json:"end"`
	// WaitTime is spent queued before a container ran it; InitTime is the cold start.
	WaitTime  time.Duration `json:"wait_time"`
	InitTime  time.Duration `json:"init_time"`
	ColdStart bool          `json:"cold_start"`
	TimedOut  bool          `json:"timed_out"`
	// BilledDuration and MaxMemoryMB are what the platform billed and saw, where it
	// says (Lambda's REPORT line); zero elsewhere.
	BilledDuration time.Duration `json:"billed_duration,omitempty"`
	MaxMemoryMB    int           `json:"max_memory_mb,omitempty"`
}

// Provider is one FaaS cluster. Every provider deploys and removes; it invokes either
// asynchronously (Starter: OpenWhisk) or synchronously (Caller: Cloud Functions,
// OpenFaaS), or both.
type Provider interface {
	// Deploy creates or replaces a function.
	Deploy(ctx context.Context, fn Function) error
	// Remove deletes a function; removing a missing function is not an error.
	Remove(ctx context.Context, name string) error
}

// Starter invokes without waiting and is asked for the result later.
type Starter interface {
	// Invoke starts a function and returns the activation id.
	Invoke(ctx context.Context, name string, params any) (string, error)
	// Activation returns a finished activation, or ErrNotReady while it runs.
	Activation(ctx context.Context, name, id string) (Activation, error)
}

// Checker tells whether a function is deployed and since when. A poller uses it to
// tell a slow activation from a lost one: an activation of a function that is gone, or
// that was deployed anew after the activation was accepted (a cluster that restarted
// and had its functions redeployed), will never be reported.
type Checker interface {
	Deployment(ctx context.Context, name string) (Deployment, error)
}

// Deployment is what a Checker knows of a function.
type Deployment struct {
	Exists bool
	// Updated is when the platform last created or replaced the function, by its own
	// clock; zero when it does not say.
	Updated time.Time
}

// Caller invokes and waits for the answer in one request.
type Caller interface {
	// Call runs the function and returns its finished activation. A function that ran
	// and failed is an Activation with Success false, not an error.
	Call(ctx context.Context, name string, params any) (Activation, error)
}

// Errors the keeper acts on; adapters wrap them.
var (
	// ErrNotReady: the activation has not finished yet.
	ErrNotReady = errors.New("faas: activation not finished")
	// ErrFunctionMissing: the function does not exist (redeploy it).
	ErrFunctionMissing = errors.New("faas: function does not exist")
	// ErrThrottled: the platform refused for load (back off, retry).
	ErrThrottled = errors.New("faas: throttled")
	// ErrUnavailable: a transient server-side failure (retry).
	ErrUnavailable = errors.New("faas: platform unavailable")
	// ErrRejected: the request itself is wrong (auth, payload, limits); retrying won't help.
	ErrRejected = errors.New("faas: request rejected")
)
