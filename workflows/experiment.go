// Package workflows holds FedKeeper's Temporal workflows: ExperimentWorkflow runs one
// federated learning experiment as a sequence of RoundWorkflow children, one per round.
// The code here is deterministic; everything that touches the world is an activity.
package workflows

import (
	"fmt"
	"math"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/fl/selection"
)

// ExperimentWorkflowName and RoundWorkflowName are the registered workflow types.
const (
	ExperimentWorkflowName = "ExperimentWorkflow"
	RoundWorkflowName      = "RoundWorkflow"
)

// RoundWorkflowID names a round's child workflow.
func RoundWorkflowID(experiment string, round int) string {
	return fmt.Sprintf("%s-round-%d", experiment, round)
}

// defaultRoundsPerRun keeps each run's history and carried state small.
const defaultRoundsPerRun = 100

func (p *ExperimentParams) check() error {
	switch {
	case p.Experiment == "":
		return fmt.Errorf("experiment name is empty")
	case p.TotalClients < 1 || p.ClientsPerRound < 1 || p.ClientsPerRound > p.TotalClients:
		return fmt.Errorf("need 1 <= clients per round (%d) <= total clients (%d)", p.ClientsPerRound, p.TotalClients)
	case p.MaxRounds < 1:
		return fmt.Errorf("max rounds must be at least 1, got %d", p.MaxRounds)
	case p.MaxAttempts < 1:
		return fmt.Errorf("max attempts must be at least 1, got %d", p.MaxAttempts)
	}
	return p.Selection.Validate()
}

// ExperimentWorkflow deploys the client functions, writes the initial model and runs
// rounds until the target accuracy or the round limit, continuing as new every
// RoundsPerRun rounds (or when Temporal suggests it) so the history stays small.
func ExperimentWorkflow(ctx workflow.Context, p ExperimentParams) (ExperimentResult, error) {
	logger := workflow.GetLogger(ctx)
	if err := p.check(); err != nil {
		return ExperimentResult{}, temporal.NewNonRetryableApplicationError("invalid experiment: "+err.Error(), "InvalidExperiment", nil)
	}
	if p.NextRound == 0 {
		p.NextRound = 1
	}
	if p.StartedAt.IsZero() {
		p.StartedAt = workflow.Now(ctx)
	}
	roundsPerRun := p.RoundsPerRun
	if roundsPerRun <= 0 {
		roundsPerRun = defaultRoundsPerRun
	}

	current := 0
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return Progress{Experiment: p.Experiment, CurrentRound: current, MaxRounds: p.MaxRounds, Rounds: p.Rounds}, nil
	}); err != nil {
		return ExperimentResult{}, err
	}

	if !p.SetupDone {
		if err := setup(ctx, p); err != nil {
			return ExperimentResult{}, err
		}
		p.SetupDone = true
	}

	if p.Async.On() {
		return asyncRounds(ctx, p, roundsPerRun, &current)
	}
	roundsThisRun := 0
	for round := p.NextRound; round <= p.MaxRounds; round++ {
		if roundsThisRun >= roundsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			p.NextRound = round
			logger.Info("continuing as new", "round", round)
			return ExperimentResult{}, workflow.NewContinueAsNewError(ctx, ExperimentWorkflow, p)
		}
		current = round
		// A policy that learns from past rounds chooses here, where their record is;
		// otherwise the round picks at random itself, as rounds always did.
		var chosen []selection.Choice
		if p.Selection.NeedsStats() {
			chosen = p.Selection.Choose(p.Seed, round, p.TotalClients, p.ClientsPerRound, p.ClientStats, nil)
		}
		var res RoundResult
		err := workflow.ExecuteChildWorkflow(roundContext(ctx, p, round), RoundWorkflow, roundParams(p, round, chosen)).Get(ctx, &res)
		if err != nil {
			return ExperimentResult{}, fmt.Errorf("round %d: %w", round, err)
		}
		if p.Selection.NeedsStats() {
			p.ClientStats = recordRound(p.ClientStats, round, res)
		}
		if err := recordSummary(ctx, &p, res.RoundSummary); err != nil {
			return ExperimentResult{}, err
		}
		roundsThisRun++
		if p.TargetAccuracy > 0 && res.Accuracy >= p.TargetAccuracy {
			return finish(ctx, p, StopTargetReached), nil
		}
	}
	return finish(ctx, p, StopMaxRounds), nil
}

// roundContext carries a round's child workflow options.
func roundContext(ctx workflow.Context, p ExperimentParams, round int) workflow.Context {
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:               RoundWorkflowID(p.Experiment, round),
		WorkflowExecutionTimeout: 24 * time.Hour,
		ParentClosePolicy:        enumspb.PARENT_CLOSE_POLICY_TERMINATE,
	}
	if p.Index {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			ExperimentAttr.ValueSet(p.Experiment), RoundAttr.ValueSet(int64(round)))
	}
	return workflow.WithChildOptions(ctx, opts)
}

// roundParams are round's parameters, its clients chosen (or not) by the experiment.
func roundParams(p ExperimentParams, round int, chosen []selection.Choice) RoundParams {
	return RoundParams{
		Experiment: p.Experiment, Round: round, BaseVersion: round - 1,
		Model: p.Model, Train: p.Train, Partition: p.Partition,
		TotalClients: p.TotalClients, ClientsPerRound: p.ClientsPerRound, Seed: p.Seed,
		MaxAttempts: p.MaxAttempts, MinClientsFraction: p.MinClientsFraction,
		DeadlineSeconds: p.DeadlineSeconds, LateUpdates: p.LateUpdates, Index: p.Index, MaxInFlight: p.MaxInFlight,
		Batched: p.Batched, ClientsPerActivity: p.ClientsPerActivity, NoFold: p.NoFold,
		MaxRecordedRuns: p.MaxRecordedRuns, Strategy: p.Strategy, Privacy: p.Privacy, Attack: p.Attack,
		Chosen: chosen, Async: p.Async, Synthetic: p.Synthetic, Stragglers: p.Stragglers,
	}
}

// recordSummary adds a finished (aggregated) round to the experiment's record.
func recordSummary(ctx workflow.Context, p *ExperimentParams, summary RoundSummary) error {
	if p.Privacy.On() {
		summary.Epsilon = spentPrivacy(*p, summary.Round)
	}
	p.Rounds = append(p.Rounds, summary)
	if p.Index {
		if err := workflow.UpsertTypedSearchAttributes(ctx, experimentAttributes(p.Rounds)...); err != nil {
			return fmt.Errorf("round %d: search attributes: %w", summary.Round, err)
		}
	}
	workflow.GetLogger(ctx).Info("round done", "round", summary.Round, "accuracy", summary.Accuracy, "loss", summary.Loss)
	return nil
}

// spentPrivacy is the ε, at the configured δ, of the client that has taken part in the
// most of rounds 1..round: the privacy every client still has, at worst. A selected
// client counts whether or not its update arrived, so the figure is an upper bound.
func spentPrivacy(p ExperimentParams, round int) float64 {
	most := mostInvited(p.ClientStats)
	for _, n := range p.Taken {
		most = max(most, n)
	}
	if !p.Selection.NeedsStats() && !p.Async.On() {
		taken := map[int]int{}
		for r := 1; r <= round; r++ {
			for _, c := range SelectClients(p.Seed, r, p.TotalClients, p.ClientsPerRound) {
				taken[c]++
				most = max(most, taken[c])
			}
		}
	}
	delta := p.Privacy.Delta
	if delta <= 0 {
		delta = DefaultDelta
	}
	eps, err := privacy.Epsilon(p.Privacy.NoiseMultiplier, most, delta)
	if err != nil || math.IsInf(eps, 1) {
		// No guarantee. Not +Inf: the summary travels as JSON, which has no infinity.
		return math.MaxFloat64
	}
	return eps
}

// DefaultDelta is the δ privacy is reported at when the config gives none.
const DefaultDelta = 1e-5

func setup(ctx workflow.Context, p ExperimentParams) error {
	var a *activities.Activities
	deployCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Building and uploading the function can take minutes on a cold build cache.
		StartToCloseTimeout: 20 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig},
		},
	})
	if err := workflow.ExecuteActivity(deployCtx, a.DeployFunctions, activities.DeployInput{Experiment: p.Experiment}).Get(ctx, nil); err != nil {
		return fmt.Errorf("deploy the client functions: %w", err)
	}
	initCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		// InitGlobal heartbeats while it writes: a dead worker's init moves on in seconds.
		HeartbeatTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadConfig},
		},
	})
	if err := workflow.ExecuteActivity(initCtx, a.InitGlobal, activities.InitInput{Experiment: p.Experiment, Model: p.Model, Seed: p.Seed, Partition: p.Partition, Synthetic: p.Synthetic}).Get(ctx, nil); err != nil {
		return fmt.Errorf("write the initial model: %w", err)
	}
	return nil
}

func finish(ctx workflow.Context, p ExperimentParams, reason string) ExperimentResult {
	res := ExperimentResult{
		Experiment: p.Experiment, Rounds: p.Rounds, StoppedBecause: reason,
		WallSeconds: workflow.Now(ctx).Sub(p.StartedAt).Seconds(),
	}
	if n := len(p.Rounds); n > 0 {
		res.FinalAccuracy = p.Rounds[n-1].Accuracy
		res.FinalLoss = p.Rounds[n-1].Loss
	}
	return res
}
