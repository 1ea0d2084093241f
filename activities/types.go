package activities

import (
	"time"

	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/functions/flserver"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Everything here travels through Temporal, so it holds references and small figures
// only: never weights, never credentials.

// DeployInput asks for the experiment's client functions to be deployed.
type DeployInput struct {
	Experiment string `json:"experiment"`
}

// DeployResult lists what was deployed, as "platform/cluster/function".
type DeployResult struct {
	Functions []string `json:"functions"`
}

// InitInput asks for the initial global model (version 0) and the partition record.
type InitInput struct {
	Experiment string         `json:"experiment"`
	Model      model.Spec     `json:"model"`
	Seed       uint64         `json:"seed"`
	Partition  partition.Spec `json:"partition"`
	// Synthetic, set, is the experiment's generated data (Partition is then zero).
	Synthetic synthetic.Spec `json:"synthetic,omitzero"`
}

// InitResult describes version 0.
type InitResult = flserver.InitResult

// ClientTask is one client's training job in a round.
type ClientTask struct {
	Experiment  string             `json:"experiment"`
	Round       int                `json:"round"`
	Client      int                `json:"client"`
	Attempt     int                `json:"attempt"`
	BaseVersion int                `json:"base_version"`
	Model       model.Spec         `json:"model"`
	Train       model.TrainOptions `json:"train"`
	Partition   partition.Spec     `json:"partition"`
	// Synthetic, set, is the experiment's generated data: the client trains on its device.
	Synthetic synthetic.Spec `json:"synthetic,omitzero"`
	// Privacy and Attack change the update the client reports (see flclient.Params).
	Privacy privacy.Mechanism `json:"privacy,omitzero"`
	Attack  attack.Spec       `json:"attack,omitzero"`
	// AcceptLate lets the client store its update after the round was aggregated
	// (semi-asynchronous rounds fold it into a later version).
	AcceptLate bool `json:"accept_late,omitempty"`
	// BaseSHA256 is the checksum of global BaseVersion, which RunBatch reads once for
	// its clients (workflows leave it empty): their functions, warm, then skip reading
	// the version's description each.
	BaseSHA256 string `json:"base_sha256,omitempty"`
}

// Invocation is a started client function.
type Invocation struct {
	Client       int    `json:"client"`
	Platform     string `json:"platform"`
	Cluster      string `json:"cluster"`
	Function     string `json:"function"`
	ActivationID string `json:"activation_id"`
	// Redeployed is set when the function had vanished and was deployed again.
	Redeployed bool `json:"redeployed,omitempty"`
	// Task is set for platforms invoked synchronously (Cloud Functions, OpenFaaS): there
	// PollActivation makes the call, so a crashed worker's call is simply made again.
	Task *ClientTask `json:"task,omitempty"`
	// InvokedBy is the worker process that ran InvokeClient.
	InvokedBy string `json:"invoked_by,omitempty"`
	// AcceptedAt is when the platform accepted the invocation (RunClient only), on the
	// Temporal server's clock, which the workflow's times are on.
	AcceptedAt time.Time `json:"accepted_at,omitempty"`
	// DeployedAt is when the function was last deployed as its cluster said just
	// before the invocation, on the cluster's own clock: a later deployment means the
	// activation was lost with the old one (see lostWith).
	DeployedAt time.Time `json:"deployed_at,omitempty"`
}

// ClientRun is a finished client activation.
type ClientRun struct {
	Client       int     `json:"client"`
	ActivationID string  `json:"activation_id"`
	Status       string  `json:"status"`
	Success      bool    `json:"success"`
	Error        string  `json:"error,omitempty"`
	Samples      int     `json:"samples,omitempty"`
	Loss         float64 `json:"loss,omitempty"`
	TrainSeconds float64 `json:"train_seconds,omitempty"`
	// FunctionSeconds is the function's own run as it measured it (load, train, store).
	FunctionSeconds float64   `json:"function_seconds,omitempty"`
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	WaitSeconds     float64   `json:"wait_seconds"`
	InitSeconds     float64   `json:"init_seconds,omitempty"`
	ColdStart       bool      `json:"cold_start,omitempty"`
	// BilledSeconds and MaxMemoryMB are the platform's own account of the run, where
	// it gives one (Lambda's REPORT line): the bill prices BilledSeconds then.
	BilledSeconds float64 `json:"billed_seconds,omitempty"`
	MaxMemoryMB   int     `json:"max_memory_mb,omitempty"`
	// InvokedBy and Worker are the worker processes that invoked the activation and
	// that saw it finish (PollActivation), as "pid@host".
	InvokedBy string `json:"invoked_by,omitempty"`
	Worker    string `json:"worker,omitempty"`
	// Platform, Cluster, Function, AcceptedAt and Redeployed describe the invocation;
	// RunClient sets them (InvokeClient's Invocation carries them otherwise).
	Platform   string    `json:"platform,omitempty"`
	Cluster    string    `json:"cluster,omitempty"`
	Function   string    `json:"function,omitempty"`
	AcceptedAt time.Time `json:"accepted_at,omitempty"`
	Redeployed bool      `json:"redeployed,omitempty"`
	// UpdateSHA256 is the checksum of the update the function stored, if it said.
	UpdateSHA256 string `json:"update_sha256,omitempty"`
	// updateBytes are that update's encoded bytes, when the result carried them (a
	// small update, sdk.ResultUpdateMax): in memory only, never in a heartbeat or a
	// record, for the batch's running sum.
	updateBytes []byte
}

// takeUpdateBytes returns the bytes the last run's result carried, if any, and drops
// them from the record.
func (rec *ClientAttempts) takeUpdateBytes() []byte {
	if len(rec.Runs) == 0 {
		return nil
	}
	last := &rec.Runs[len(rec.Runs)-1]
	data := last.updateBytes
	last.updateBytes = nil
	return data
}

// AggregateInput asks for a round's updates to be averaged into the next global version.
type AggregateInput struct {
	Experiment  string     `json:"experiment"`
	Round       int        `json:"round"`
	BaseVersion int        `json:"base_version"`
	Clients     []int      `json:"clients"`
	Model       model.Spec `json:"model"`
	// Strategy: see flserver.AggregateParams; the zero value is FedAvg.
	Strategy strategy.Spec `json:"strategy,omitzero"`
	// Late folds in earlier rounds' late updates (semi-asynchronous rounds).
	Late *flserver.LateFolding `json:"late,omitempty"`
	// Partials name the batches' running sums (see flserver.AggregateParams).
	Partials []weights.PartialRef `json:"partial_sums,omitempty"`
	// KeepUpdates leaves the round's clean-up to CleanUpRound.
	KeepUpdates bool `json:"keep_updates,omitempty"`
}

// CleanUpInput names a synchronous round whose version is stored: its updates and
// running sums can go.
type CleanUpInput struct {
	Experiment string `json:"experiment"`
	Round      int    `json:"round"`
}

// AggregateResult describes the new global version.
type AggregateResult struct {
	Version int   `json:"version"`
	Updates int   `json:"updates"`
	Samples int   `json:"samples"`
	Counted []int `json:"counted"`
	// Rejected lists clients whose update was missing, damaged or for another round.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Stale are the late updates folded in (semi-asynchronous rounds).
	Stale   []flserver.StaleUpdate `json:"stale,omitempty"`
	Seconds float64                `json:"seconds"`
	// FromPartials counts the updates merged from the batches' running sums.
	FromPartials int `json:"from_partials,omitempty"`
}

// Rejection says why a client's update was not aggregated.
type Rejection = flserver.Rejection

// EvaluateInput asks for a global version to be scored on the test set.
type EvaluateInput struct {
	Experiment string     `json:"experiment"`
	Version    int        `json:"version"`
	Model      model.Spec `json:"model"`
	// Synthetic, set, scores on the synthetic dataset (every device's training loss and
	// test accuracy) instead of MNIST's test set.
	Synthetic synthetic.Spec `json:"synthetic,omitzero"`
}

// EvaluateResult is the score.
type EvaluateResult struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	Seconds  float64 `json:"seconds"`
}
