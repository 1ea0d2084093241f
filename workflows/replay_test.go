package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from real runs on the
// embedded server: the current ones (regenerate with FEDKEEPER_RECORD_HISTORY=1 go test
// ./e2e) and those of earlier builds, kept under their own names. A change that makes
// the workflows take different steps for the same events fails here: such a change
// needs workflow.GetVersion (or a parameter old runs lack) so running experiments
// survive a new worker build.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*_history*.json"))
	if err != nil || len(files) < 4 {
		t.Fatalf("recorded histories %v (%v)", files, err)
	}
	for _, file := range files {
		file = filepath.Base(file)
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
