package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from a real run on the
// embedded server (regenerate with FEDKEEPER_RECORD_HISTORY=1 go test ./e2e). A change
// that makes the workflows take different steps for the same events fails here: such a
// change needs workflow.GetVersion so running experiments survive a new worker build.
func TestReplayRecordedHistories(t *testing.T) {
	for _, file := range []string{"experiment_history.json", "round_history.json"} {
		t.Run(file, func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(ExperimentWorkflow, workflow.RegisterOptions{Name: ExperimentWorkflowName})
			replayer.RegisterWorkflowWithOptions(RoundWorkflow, workflow.RegisterOptions{Name: RoundWorkflowName})
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata", file)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
