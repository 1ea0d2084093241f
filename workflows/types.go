package workflows

import (
	"time"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

// ExperimentParams describe an experiment. They hold no credentials or addresses:
// the workers know where the clusters and the database are.
type ExperimentParams struct {
	Experiment      string             `json:"experiment"`
	Model           model.Spec         `json:"model"`
	Train           model.TrainOptions `json:"train"`
	Partition       partition.Spec     `json:"partition"`
	TotalClients    int                `json:"total_clients"`
	ClientsPerRound int                `json:"clients_per_round"`
	// Seed drives client selection and the initial model.
	Seed           uint64  `json:"seed"`
	MaxRounds      int     `json:"max_rounds"`
	TargetAccuracy float64 `json:"target_accuracy"`
	// MaxAttempts is how often a client is invoked in a round before it is given up.
	MaxAttempts int `json:"max_attempts"`
	// MinClientsFraction of the selected clients must report for a round to count.
	MinClientsFraction float64 `json:"min_clients_fraction"`
	// RoundsPerRun bounds the rounds of one workflow run before it continues as new.
	RoundsPerRun int `json:"rounds_per_run"`
	// DeadlineSeconds and LateUpdates handle stragglers (see RoundParams).
	DeadlineSeconds float64 `json:"deadline_seconds,omitempty"`
	LateUpdates     string  `json:"late_updates,omitempty"`
	// MaxInFlight bounds a round's clients running at once (0: DefaultMaxInFlight).
	MaxInFlight int `json:"max_in_flight,omitempty"`
	// Batched runs the rounds' clients several to an activity (RunBatch), and
	// ClientsPerActivity is how many (0: a tenth of the round, at most
	// MaxClientsPerActivity). Experiments of earlier builds lack it: an activity per
	// attempt.
	Batched            bool `json:"batched,omitempty"`
	ClientsPerActivity int  `json:"clients_per_activity,omitempty"`
	// NoFold turns off the batches' running sums (config round.fold_updates).
	NoFold bool `json:"no_fold,omitempty"`
	// MaxRecordedRuns: see RoundParams.
	MaxRecordedRuns int `json:"max_recorded_runs,omitempty"`
	// Strategy, Privacy and Attack: see RoundParams.
	Strategy strategy.Spec     `json:"strategy,omitzero"`
	Privacy  privacy.Mechanism `json:"privacy,omitzero"`
	Attack   attack.Spec       `json:"attack,omitzero"`
	// Selection chooses each round's clients (the zero value: at random).
	Selection selection.Spec `json:"selection,omitzero"`
	// Async makes rounds semi-asynchronous (the zero value: synchronous).
	Async AsyncSpec `json:"async,omitzero"`
	// Synthetic, set, is the generated dataset the clients train on (see RoundParams).
	Synthetic synthetic.Spec `json:"synthetic,omitzero"`
	// Stragglers simulates stragglers (see RoundParams).
	Stragglers StragglerSpec `json:"stragglers,omitzero"`
	// Index says the namespace knows FedKeeper's search attributes (the starter
	// registered them), so the workflows write them. Experiments started before there
	// were any lack the field and replay as they ran.
	Index bool `json:"index,omitempty"`

	// State carried across continue-as-new.
	NextRound int            `json:"next_round,omitempty"`
	Rounds    []RoundSummary `json:"rounds,omitempty"`
	SetupDone bool           `json:"setup_done,omitempty"`
	StartedAt time.Time      `json:"started_at,omitempty"`
	// ClientStats is every invited client's record, for a selection policy that reads
	// it: carried across continue-as-new, so the policy remembers all rounds.
	ClientStats map[int]selection.Stats `json:"client_stats,omitempty"`
	// Taken counts the rounds each client was selected for, in semi-asynchronous
	// experiments (whose choices depend on timing, so they cannot be recomputed): what
	// the privacy accountant reads.
	Taken map[int]int `json:"taken,omitempty"`
}

// AsyncSpec makes rounds semi-asynchronous, as FedBuff (Nguyen et al., 2022): a round
// aggregates as soon as MinUpdates of its clients reported, folding in the late updates
// of earlier rounds weighed by their staleness (see flserver.LateFolding); its other
// clients finish in the background, are not selected again until they do, and their
// updates go into a later version. MinUpdates 1 is FedAsync-like: every update makes a
// version.
type AsyncSpec struct {
	MinUpdates        int     `json:"min_updates,omitempty"`
	StalenessExponent float64 `json:"staleness_exponent,omitempty"`
	MaxStaleness      int     `json:"max_staleness,omitempty"`
}

// On says whether rounds are semi-asynchronous.
func (a AsyncSpec) On() bool { return a.MinUpdates > 0 }

// RoundAggregatedSignal is what a semi-asynchronous round sends its experiment once it
// aggregated, so the next round starts while its stragglers finish.
const RoundAggregatedSignal = "round-aggregated"

// RoundAggregated is the signal's payload.
type RoundAggregated struct {
	Round   int          `json:"round"`
	Summary RoundSummary `json:"summary"`
	// Running are the clients still training, busy until the round completes.
	Running []int `json:"running,omitempty"`
}

// RoundParams describe one round.
type RoundParams struct {
	Experiment         string             `json:"experiment"`
	Round              int                `json:"round"`
	BaseVersion        int                `json:"base_version"`
	Model              model.Spec         `json:"model"`
	Train              model.TrainOptions `json:"train"`
	Partition          partition.Spec     `json:"partition"`
	TotalClients       int                `json:"total_clients"`
	ClientsPerRound    int                `json:"clients_per_round"`
	Seed               uint64             `json:"seed"`
	MaxAttempts        int                `json:"max_attempts"`
	MinClientsFraction float64            `json:"min_clients_fraction"`
	// DeadlineSeconds bounds the wait for clients (0: none); LateUpdates says what
	// happens to the clients still running then: dropped, or awaited without new attempts.
	DeadlineSeconds float64 `json:"deadline_seconds,omitempty"`
	LateUpdates     string  `json:"late_updates,omitempty"`
	// Index: see ExperimentParams.
	Index bool `json:"index,omitempty"`
	// MaxInFlight bounds the clients running at once (0: DefaultMaxInFlight).
	MaxInFlight int `json:"max_in_flight,omitempty"`
	// Batched runs the clients several to an activity (RunBatch), ClientsPerActivity
	// of them (0: a tenth of the round, at most MaxClientsPerActivity); rounds of
	// earlier builds lack it and run an activity per attempt. A semi-asynchronous
	// round never batches.
	Batched            bool `json:"batched,omitempty"`
	ClientsPerActivity int  `json:"clients_per_activity,omitempty"`
	// NoFold turns off the batches' running sums (config round.fold_updates).
	NoFold bool `json:"no_fold,omitempty"`
	// MaxRecordedRuns bounds the activations kept in the round's result (0:
	// DefaultMaxRecordedRuns); see RoundResult.RunsInHistory.
	MaxRecordedRuns int `json:"max_recorded_runs,omitempty"`
	// Strategy aggregates the round; the zero value (what experiments started before
	// there were strategies carry) is FedAvg.
	Strategy strategy.Spec `json:"strategy,omitzero"`
	// Privacy makes the clients clip their updates and add noise (local DP); Attack
	// makes a fraction of them malicious. Zero values: neither.
	Privacy privacy.Mechanism `json:"privacy,omitzero"`
	Attack  attack.Spec       `json:"attack,omitzero"`
	// Chosen are the round's clients and why, when the experiment chose them (a policy
	// that remembers past rounds); empty, the round picks ClientsPerRound at random.
	Chosen []selection.Choice `json:"chosen,omitempty"`
	// Async: see ExperimentParams.
	Async AsyncSpec `json:"async,omitzero"`
	// Synthetic, set, is the FedProx paper's synthetic data, one device per client,
	// which the clients generate and the evaluation scores on; zero: MNIST.
	Synthetic synthetic.Spec `json:"synthetic,omitzero"`
	// Stragglers makes a seeded share of the selected clients run fewer epochs; zero:
	// none.
	Stragglers StragglerSpec `json:"stragglers,omitzero"`
}

// StragglerSpec simulates the FedProx paper's stragglers: in every round, Fraction of
// the selected clients (drawn from the seed and the round, see selection.Stragglers)
// manage only 1..epochs−1 local epochs. With Keep (FedProx) they train that much and
// are counted; otherwise (FedAvg) they are not invoked and the round aggregates the
// others, as the paper's FedAvg drops them.
type StragglerSpec struct {
	Fraction float64 `json:"fraction,omitempty"`
	Keep     bool    `json:"keep,omitempty"`
}

// On says whether rounds have stragglers.
func (s StragglerSpec) On() bool { return s.Fraction > 0 }

// What happens to clients still running at a round's deadline.
const (
	LateDrop   = "drop"
	LateAccept = "accept"
)

// ClientOutcome is what happened to one selected client in a round.
type ClientOutcome struct {
	Client   int    `json:"client"`
	Platform string `json:"platform,omitempty"`
	Cluster  string `json:"cluster,omitempty"`
	// Function is the client function that ran (clients_info.client_functions).
	Function string `json:"function,omitempty"`
	Attempts int    `json:"attempts"`
	Counted  bool   `json:"counted"`
	// Reason is why the client was selected.
	Reason string `json:"reason,omitempty"`
	// Seconds is how long the counted run took on its platform: what a straggler-aware
	// policy learns from, kept even when Runs are left out of the record.
	Seconds float64 `json:"seconds,omitempty"`
	// Late is set for a client dropped at the round's deadline, or, in a
	// semi-asynchronous round, one that reported after the aggregation (its update
	// waits for a later version).
	Late bool `json:"late,omitempty"`
	// Straggler marks a simulated straggler, and Epochs the local epochs it was given:
	// it trained them (and counts) under FedProx, and was not invoked otherwise.
	Straggler bool                   `json:"straggler,omitempty"`
	Epochs    int                    `json:"epochs,omitempty"`
	Error     string                 `json:"error,omitempty"`
	Runs      []activities.ClientRun `json:"runs"`
}

// RoundResult is a round's full record, the child workflow's result.
type RoundResult struct {
	RoundSummary
	Selected []int                  `json:"selected"`
	Outcomes []ClientOutcome        `json:"outcomes"`
	Rejected []activities.Rejection `json:"rejected,omitempty"`
	// RunsInHistory says the record was too large to keep whole (Temporal caps a
	// payload at 2 MB): the clients that succeeded at their first attempt have no Runs
	// here, and their one activation is the result of their PollActivation activity in
	// the round's history (runner.RoundRecord puts them back).
	RunsInHistory bool `json:"runs_in_history,omitempty"`
}

// RoundSummary is the part of a round the experiment keeps and the results files show.
type RoundSummary struct {
	Round            int     `json:"round"`
	Version          int     `json:"version"`
	Clients          int     `json:"clients"`
	Counted          int     `json:"counted"`
	Samples          int     `json:"samples"`
	Retries          int     `json:"retries"`
	Late             int     `json:"late,omitempty"`
	InvokeSeconds    float64 `json:"invoke_s"`
	TrainSeconds     float64 `json:"train_s"`
	AggregateSeconds float64 `json:"aggregate_s"`
	EvalSeconds      float64 `json:"eval_s"`
	TotalSeconds     float64 `json:"total_s"`
	Loss             float64 `json:"loss"`
	Accuracy         float64 `json:"accuracy"`
	// Epsilon is the privacy spent so far by the most-selected client (with local DP on).
	Epsilon float64 `json:"epsilon,omitempty"`
	// Stale counts the late updates of earlier rounds folded in (semi-asynchronous
	// rounds); Running the round's clients still training when it aggregated.
	Stale   int `json:"stale,omitempty"`
	Running int `json:"running,omitempty"`
	// Stragglers counts the round's simulated stragglers, counted or dropped.
	Stragglers int `json:"stragglers,omitempty"`
	// Merged counts the updates the aggregation merged from the batches' running sums
	// instead of reading them (round.fold_updates).
	Merged int `json:"merged,omitempty"`
}

// ExperimentResult is the experiment workflow's result.
type ExperimentResult struct {
	Experiment     string         `json:"experiment"`
	Rounds         []RoundSummary `json:"rounds"`
	FinalAccuracy  float64        `json:"final_accuracy"`
	FinalLoss      float64        `json:"final_loss"`
	StoppedBecause string         `json:"stopped_because"`
	WallSeconds    float64        `json:"wall_seconds"`
}

// Reasons an experiment stops.
const (
	StopTargetReached = "target_accuracy_reached"
	StopMaxRounds     = "max_rounds_reached"
)

// ProgressQuery is the query that returns an experiment's Progress.
const ProgressQuery = "progress"

// RoundProgressQuery is the query that returns a running round's RoundProgress.
const RoundProgressQuery = "round_progress"

// Progress is a running experiment's state for watchers.
type Progress struct {
	Experiment   string         `json:"experiment"`
	CurrentRound int            `json:"current_round"`
	MaxRounds    int            `json:"max_rounds"`
	Rounds       []RoundSummary `json:"rounds"`
}

// RoundProgress is a running round's state, answered by RoundProgressQuery.
type RoundProgress struct {
	Round    int `json:"round"`
	Selected int `json:"selected"`
	// Done clients finished (counted or given up); Counted of them sent an update.
	Done    int `json:"done"`
	Counted int `json:"counted"`
	Retries int `json:"retries"`
	// Phase is "training", "aggregating", "evaluating" or "done".
	Phase     string    `json:"phase"`
	StartedAt time.Time `json:"started_at"`
	// Clients is each selected client's state, in the order of selection.
	Clients []ClientState `json:"clients,omitempty"`
}

// ClientState is a selected client's state in a running round: waiting for its turn
// (round.max_in_flight), running its first attempt, retrying (a later attempt
// running), done (its update reported), failed (given up), late (still running at
// the round's deadline, or reported after a semi-asynchronous aggregation) or dropped
// (a straggler not invoked, or never started before the deadline).
type ClientState struct {
	Client   int    `json:"client"`
	State    string `json:"state"`
	Attempts int    `json:"attempts,omitempty"`
	// Platform is where it runs, known once an attempt returned.
	Platform string `json:"platform,omitempty"`
}

// Client states of a running round.
const (
	ClientWaiting  = "waiting"
	ClientRunning  = "running"
	ClientRetrying = "retrying"
	ClientDone     = "done"
	ClientFailed   = "failed"
	ClientLate     = "late"
	ClientDropped  = "dropped"
)
