package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/fl/selection"
)

// asyncRounds runs an experiment's semi-asynchronous rounds: round r+1 starts as soon
// as round r has aggregated (its signal), while r's stragglers finish in the
// background; until they do they are busy and not selected. Before continuing as new,
// and at the end, it waits for every round still finishing, so none is cut off.
func asyncRounds(ctx workflow.Context, p ExperimentParams, roundsPerRun int, current *int) (ExperimentResult, error) {
	logger := workflow.GetLogger(ctx)
	signals := workflow.GetSignalChannel(ctx, RoundAggregatedSignal)
	finishing := map[int]workflow.ChildWorkflowFuture{} // aggregated rounds whose clients still run
	busy := map[int]int{}                               // client -> the round it runs in

	// settle frees a completed round's clients and learns from its record.
	settle := func(round int, f workflow.Future) {
		delete(finishing, round)
		for c, r := range busy {
			if r == round {
				delete(busy, c)
			}
		}
		var res RoundResult
		if err := f.Get(ctx, &res); err != nil {
			// Its version stands; only the record of its stragglers is lost.
			logger.Warn("a round failed after its aggregation", "round", round, "error", err)
			return
		}
		if p.Selection.NeedsStats() {
			p.ClientStats = recordRound(p.ClientStats, round, res)
		}
	}
	// addFinishing lets a selector settle whichever finishing round completes.
	addFinishing := func(sel workflow.Selector) {
		rounds := make([]int, 0, len(finishing))
		for r := range finishing {
			rounds = append(rounds, r)
		}
		slices.Sort(rounds) // map order is random; workflow code must not be
		for _, r := range rounds {
			f := finishing[r]
			sel.AddFuture(f, func(workflow.Future) { settle(r, f) })
		}
	}
	waitForOne := func() {
		sel := workflow.NewSelector(ctx)
		addFinishing(sel)
		sel.Select(ctx)
	}
	drain := func() {
		for len(finishing) > 0 {
			waitForOne()
		}
	}
	choose := func(round int) []selection.Choice {
		// Fewer free clients than a round needs to aggregate: wait for some.
		for p.TotalClients-len(busy) < min(p.Async.MinUpdates, p.ClientsPerRound) && len(finishing) > 0 {
			waitForOne()
		}
		taken := map[int]bool{}
		for c := range busy {
			taken[c] = true
		}
		return p.Selection.Choose(p.Seed, round, p.TotalClients, p.ClientsPerRound, p.ClientStats, taken)
	}

	roundsThisRun := 0
	for round := p.NextRound; round <= p.MaxRounds; round++ {
		if roundsThisRun >= roundsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			drain()
			p.NextRound = round
			logger.Info("continuing as new", "round", round)
			return ExperimentResult{}, workflow.NewContinueAsNewError(ctx, ExperimentWorkflow, p)
		}
		*current = round
		chosen := choose(round)
		if p.Taken == nil {
			p.Taken = map[int]int{}
		}
		for _, c := range chosen {
			busy[c.Client] = round
			p.Taken[c.Client]++
		}
		f := workflow.ExecuteChildWorkflow(roundContext(ctx, p, round), RoundWorkflow, roundParams(p, round, chosen))
		summary, completed, err := awaitAggregation(ctx, signals, f, round, busy, addFinishing)
		if err != nil {
			return ExperimentResult{}, err
		}
		if completed {
			settle(round, f)
		} else {
			finishing[round] = f
		}
		if err := recordSummary(ctx, &p, summary); err != nil {
			return ExperimentResult{}, err
		}
		roundsThisRun++
		if p.TargetAccuracy > 0 && summary.Accuracy >= p.TargetAccuracy {
			drain()
			return finish(ctx, p, StopTargetReached), nil
		}
	}
	drain()
	return finish(ctx, p, StopMaxRounds), nil
}

// awaitAggregation waits until round has aggregated: its signal, or its completion if
// that is seen first (a round with no stragglers ends right after signalling). Meanwhile
// earlier rounds may complete; addFinishing settles them. Clients the signal does not
// list as running are free again.
func awaitAggregation(ctx workflow.Context, signals workflow.ReceiveChannel, f workflow.ChildWorkflowFuture, round int,
	busy map[int]int, addFinishing func(workflow.Selector)) (RoundSummary, bool, error) {
	var summary *RoundSummary
	completed := false
	var failed error
	for summary == nil && failed == nil {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
			var msg RoundAggregated
			c.Receive(ctx, &msg)
			if msg.Round != round {
				return // an earlier round already recorded from its completion
			}
			s := msg.Summary
			summary = &s
			for c, r := range busy {
				if r == round && !slices.Contains(msg.Running, c) {
					delete(busy, c)
				}
			}
		})
		sel.AddFuture(f, func(workflow.Future) {
			var res RoundResult
			if err := f.Get(ctx, &res); err != nil {
				failed = fmt.Errorf("round %d: %w", round, err)
				return
			}
			completed = true
			if summary == nil {
				s := res.RoundSummary
				summary = &s
			}
		})
		addFinishing(sel)
		sel.Select(ctx)
	}
	if failed != nil {
		return RoundSummary{}, false, failed
	}
	return *summary, completed, nil
}
