package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// startDeadline starts the round's deadline timer, if it has one.
func startDeadline(ctx workflow.Context, p RoundParams) (workflow.Future, workflow.CancelFunc) {
	if p.DeadlineSeconds <= 0 {
		return nil, func() {}
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	return workflow.NewTimer(timerCtx, time.Duration(p.DeadlineSeconds*float64(time.Second))), cancel
}

// wait receives finished clients until none of pending is left or enough says so,
// and returns how many are still running. When the deadline fires it closes the gate
// and, when late updates are dropped, stops waiting for the clients still running.
func (r *round) wait(ctx workflow.Context, pending int, enough func() bool) int {
	for pending > 0 && !enough() {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(r.finished, func(c workflow.ReceiveChannel, _ bool) {
			var i int
			c.Receive(ctx, &i)
			pending--
		})
		if r.deadline != nil && !r.gate.pastDeadline {
			sel.AddFuture(r.deadline, func(workflow.Future) { r.pastDeadline() })
		}
		sel.Select(ctx)
	}
	return pending
}

// pastDeadline closes the gate at the round's deadline.
func (r *round) pastDeadline() {
	r.gate.pastDeadline = true
	if r.p.LateUpdates != LateAccept {
		r.dropLate()
	}
}

// retryGate stops new attempts at a round's clients: once its deadline passed, or once
// a semi-asynchronous round aggregated (a failed straggler then sits the round out).
type retryGate struct {
	pastDeadline bool
	aggregated   bool
}

// closed says why no client may be invoked again, or "".
func (g *retryGate) closed() string {
	switch {
	case g.pastDeadline:
		return "the round's deadline passed"
	case g.aggregated:
		return "the round was aggregated"
	}
	return ""
}

// tally counts the retries and the late clients of a round.
func tally(outcomes []ClientOutcome) (retries, late int) {
	for _, o := range outcomes {
		if o.Late {
			late++
		}
		retries += max(0, o.Attempts-1)
	}
	return retries, late
}

// finishInBackground is a semi-asynchronous round after its aggregation: it tells its
// experiment the round's result and which clients still run, so the next round starts,
// then waits for them (wait), invoking none again.
func finishInBackground(ctx workflow.Context, p RoundParams, res *RoundResult, selected []int, done []bool, live *RoundProgress, wait func()) error {
	var running []int
	for i, c := range selected {
		if !done[i] {
			running = append(running, c)
		}
	}
	if parent := workflow.GetInfo(ctx).ParentWorkflowExecution; parent != nil {
		err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", RoundAggregatedSignal,
			RoundAggregated{Round: p.Round, Summary: res.RoundSummary, Running: running}).Get(ctx, nil)
		if err != nil {
			return fmt.Errorf("round %d: tell the experiment: %w", p.Round, err)
		}
	}
	live.Phase = "finishing"
	wait()
	return nil
}
