package runner

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// RoundRecord returns a finished round's full record: its workflow's result, with the
// runs a large round left to its history (RoundResult.RunsInHistory) read back from
// the results of its RunClient (or, in rounds of earlier builds, PollActivation)
// activities.
func RoundRecord(ctx context.Context, c client.Client, experiment string, round int) (workflows.RoundResult, error) {
	id := workflows.RoundWorkflowID(experiment, round)
	var res workflows.RoundResult
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		return res, fmt.Errorf("read round %d (%s): %w", round, id, err)
	}
	if !res.RunsInHistory {
		return res, nil
	}
	polls := map[int64]bool{} // scheduled event ids of RunClient and PollActivation
	runs := map[int]activities.ClientRun{}
	dc := converter.GetDefaultDataConverter()
	iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return res, fmt.Errorf("read the history of round %d: %w", round, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && (a.GetActivityType().GetName() == "RunClient" || a.GetActivityType().GetName() == "PollActivation") {
			polls[ev.GetEventId()] = true
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && polls[a.GetScheduledEventId()] {
			var run activities.ClientRun
			if err := dc.FromPayloads(a.GetResult(), &run); err != nil {
				return res, fmt.Errorf("round %d: decode an activation: %w", round, err)
			}
			if run.Success {
				runs[run.Client] = run
			}
		}
	}
	for i, o := range res.Outcomes {
		if o.Runs != nil || !o.Counted {
			continue
		}
		run, ok := runs[o.Client]
		if !ok {
			return res, fmt.Errorf("round %d: client %d's activation is in neither the record nor the history", round, o.Client)
		}
		res.Outcomes[i].Runs = []activities.ClientRun{run}
	}
	res.RunsInHistory = false
	return res, nil
}
