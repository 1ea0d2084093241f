package runner

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// RoundRecord returns a finished round's full record: its workflow's result, with the
// runs a large round left to its history (RoundResult.RunsInHistory) read back from
// the results of its RunBatch or RunClient (or, in rounds of earlier builds,
// PollActivation) activities.
func RoundRecord(ctx context.Context, c client.Client, experiment string, round int) (workflows.RoundResult, error) {
	id := workflows.RoundWorkflowID(experiment, round)
	var res workflows.RoundResult
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		return res, fmt.Errorf("read round %d (%s): %w", round, id, err)
	}
	if !res.RunsInHistory {
		return res, nil
	}
	runs, err := historyRuns(ctx, c, id, round)
	if err != nil {
		return res, err
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

// historyRuns reads the successful activations in a round's history, by client.
func historyRuns(ctx context.Context, c client.Client, id string, round int) (map[int]activities.ClientRun, error) {
	kinds := map[int64]string{} // activity type by scheduled event id
	runs := map[int]activities.ClientRun{}
	dc := converter.GetDefaultDataConverter()
	iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("read the history of round %d: %w", round, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			kinds[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		a := ev.GetActivityTaskCompletedEventAttributes()
		if a == nil {
			continue
		}
		if err := addRuns(runs, kinds[a.GetScheduledEventId()], dc, a.GetResult()); err != nil {
			return nil, fmt.Errorf("round %d: %w", round, err)
		}
	}
	return runs, nil
}

// addRuns adds the successful activations of one activity's result to runs.
func addRuns(runs map[int]activities.ClientRun, kind string, dc converter.DataConverter, result *commonpb.Payloads) error {
	switch kind {
	case "RunClient", "PollActivation":
		var run activities.ClientRun
		if err := dc.FromPayloads(result, &run); err != nil {
			return fmt.Errorf("decode an activation: %w", err)
		}
		if run.Success {
			runs[run.Client] = run
		}
	case "RunBatch":
		var batch activities.BatchResult
		if err := dc.FromPayloads(result, &batch); err != nil {
			return fmt.Errorf("decode a batch: %w", err)
		}
		for _, rec := range batch.Clients {
			if n := len(rec.Runs); n > 0 && rec.Runs[n-1].Success {
				runs[rec.Client] = rec.Runs[n-1]
			}
		}
	}
	return nil
}
