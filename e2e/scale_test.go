package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/runner"
)

// threeWorkersOneStopped runs the crash scenario's experiment on three worker
// processes, each allowed two activities at a time, and a client to a batch, so a
// round's six clients cannot all fit on one or two of them. In round 2 one worker gets SIGTERM, as a
// scaled-down deployment would send: it hands its activities back, the others finish
// the experiment, and the result equals the uninterrupted run's. The round records
// name the worker behind every activation. Meanwhile the OpenWhisk cluster deletes its
// function at some invocations: each deletion is redeployed once, by one of the
// workers, however many of them noticed it.
func threeWorkersOneStopped(ctx context.Context, t *testing.T, root string, baseline baselineRun) {
	e := newCrashEnvBatched(t, root, 1, "worker:\n  max_concurrent_activities: 2\n  stop_timeout: 1s\nmetrics:\n  listen: 127.0.0.1:0")
	resolved, c := e.startStack(ctx)
	workerBin := binary(t, root, "worker")
	stopped := e.start(workerBin)
	e.start(workerBin)
	e.start(workerBin)
	waitForPollers(ctx, t, c, resolved.Temporal.TaskQueue, 3)
	setFaults(ctx, t, resolved, faults.Faults{DeleteRate: 0.15, Seed: 4})

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
	for round := 1; round <= len(baseline.accuracies); round++ {
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
	// Counted by the cluster, not from the workers' logs: a worker stopped mid-redeploy
	// may have had its deployment applied without living to log it.
	status := faultStatus(ctx, t, resolved)
	deleted := status.Injected[faults.Delete]
	if len(status.Deployments) != 1 {
		t.Fatalf("the cluster's deployments %v; want its one function's", status.Deployments)
	}
	for fn, deployed := range status.Deployments {
		if deleted == 0 || deployed != deleted+1 {
			t.Errorf("the cluster deleted %s %d times and it was deployed %d times; want the first deployment and one per deletion", fn, deleted, deployed)
		}
	}
}

// setFaults replaces the faults the OpenWhisk cluster's fabric injects.
func setFaults(ctx context.Context, t *testing.T, cfg *config.Config, f faults.Faults) {
	t.Helper()
	body, _ := json.Marshal(f)
	faultsRequest(ctx, t, cfg, http.MethodPut, body)
}

// faultStatus is what the OpenWhisk cluster's fabric injected and deployed so far.
func faultStatus(ctx context.Context, t *testing.T, cfg *config.Config) faults.Status {
	t.Helper()
	var status faults.Status
	if err := json.Unmarshal(faultsRequest(ctx, t, cfg, http.MethodGet, nil), &status); err != nil {
		t.Fatal(err)
	}
	return status
}

func faultsRequest(ctx context.Context, t *testing.T, cfg *config.Config, method string, body []byte) []byte {
	t.Helper()
	ow := cfg.Providers.OpenWhisk["local"]
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(ow.Auth.OWAPIHost, "/")+fabric.FaultsPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(ow.Auth.OWAuth, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d: %s", method, fabric.FaultsPath, resp.StatusCode, data)
	}
	return data
}
