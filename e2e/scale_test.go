package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/runner"
)

// threeWorkersOneStopped runs the crash scenario's experiment on three worker
// processes, each allowed two activities at a time, so a round's six client polls
// cannot all fit on one or two of them. In round 2 one worker gets SIGTERM, as a
// scaled-down deployment would send: it hands its activities back, the others finish
// the experiment, and the result equals the uninterrupted run's. The round records
// name the worker behind every activation.
func threeWorkersOneStopped(ctx context.Context, t *testing.T, root string, baseline []float64) {
	e := newCrashEnv(t, root, "worker:\n  max_concurrent_activities: 2\n  stop_timeout: 1s\nmetrics:\n  listen: 127.0.0.1:0")
	resolved, c := e.startStack(ctx)
	workerBin := binary(t, root, "worker")
	stopped := e.start(workerBin)
	e.start(workerBin)
	e.start(workerBin)
	waitForPollers(ctx, t, c, resolved.Temporal.TaskQueue, 3)

	wait := runInBackground(ctx, c, resolved)
	id := runningExperiment(ctx, t, c, resolved)
	waitForRound(ctx, t, c, id, 2)
	if err := stopped.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := stopped.waitExit(t, time.Minute); code != 0 {
		t.Errorf("the stopped worker exited %d", code)
	}
	if out := stopped.output(); !strings.Contains(out, "worker stopped") {
		t.Errorf("the stopped worker did not stop cleanly:\n%s", out)
	}
	check(ctx, t, resolved, wait(t).Result, baseline)

	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	stoppedID := fmt.Sprintf("%d@%s", stopped.cmd.Process.Pid, host)
	all := map[string]int{}
	for round := 1; round <= len(baseline); round++ {
		rec, err := runner.RoundRecord(ctx, c, id, round)
		if err != nil {
			t.Fatal(err)
		}
		inRound := map[string]bool{}
		for _, o := range rec.Outcomes {
			for _, run := range o.Runs {
				if run.Worker == "" || run.InvokedBy == "" {
					t.Errorf("round %d client %d: activation %q records no worker (%q, %q)", round, o.Client, run.ActivationID, run.InvokedBy, run.Worker)
					continue
				}
				inRound[run.Worker] = true
				all[run.Worker]++
				all[run.InvokedBy]++
			}
		}
		if round == 1 && len(inRound) < 2 {
			t.Errorf("round 1's activations all finished on %v; three workers of two slots each should share them", inRound)
		}
	}
	if len(all) != 3 || all[stoppedID] == 0 {
		t.Errorf("activations by worker %v; want three workers, the stopped one (%s) among them", all, stoppedID)
	}
}
