package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/fedkeeper/fedkeeper/faas"
	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/functions/actionloop"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
)

// TestMain doubles as a client function: the fabric starts this binary as an action,
// which answers for the client its task names after a short training.
func TestMain(m *testing.M) {
	if name := os.Getenv("__OW_ACTION_NAME"); name != "" {
		if err := actionloop.Serve(slowClient); err != nil {
			fmt.Fprintln(os.Stderr, path.Base(name), err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func slowClient(_ context.Context, raw json.RawMessage) (any, error) {
	req, err := invocation.Parse(raw)
	if err != nil {
		return nil, err
	}
	var task struct {
		Client int `json:"client"`
		Round  int `json:"round"`
	}
	if err := json.Unmarshal([]byte(req.Task), &task); err != nil {
		return nil, err
	}
	time.Sleep(300 * time.Millisecond) // a few looks of the poller, each with a check
	return map[string]any{"client": task.Client, "round": task.Round, "samples": 600, "loss": 0.5}, nil
}

// A cluster whose clock runs ahead of the worker's: the function was deployed just
// before the invocation, which by the worker's clock is in the future. The poller
// compares the cluster's times with the cluster's and waits for the activation.
func TestSkewedClusterClockDoesNotLoseActivations(t *testing.T) {
	for _, skew := range []time.Duration{30 * time.Second, -30 * time.Second} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			f, err := fabric.Start(context.Background(), fabric.Options{DataDir: t.TempDir(),
				OpenWhisk: &openwhisk.Options{Auth: openwhisk.GuestAuth, ClockSkew: skew}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(f.Stop)
			prov, err := owclient.New(owclient.Options{APIHost: f.URL, Namespace: "guest", Auth: openwhisk.GuestAuth})
			if err != nil {
				t.Fatal(err)
			}
			self, err := os.ReadFile(os.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			code, err := owclient.ZipExec(self)
			if err != nil {
				t.Fatal(err)
			}
			if err := prov.Deploy(context.Background(), faas.Function{Name: "fl_client", Code: code, Kind: "go:1.22", Timeout: time.Minute}); err != nil {
				t.Fatal(err)
			}
			acts := newActivities(t, prov, nil)
			acts.checkEvery = time.Millisecond
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
			val, err := env.ExecuteActivity(acts.RunClient, ClientTask{Experiment: "e", Round: 1, Client: 1, Attempt: 1})
			if err != nil {
				t.Fatal(err)
			}
			var run ClientRun
			if err := val.Get(&run); err != nil {
				t.Fatal(err)
			}
			if !run.Success || run.Status != "success" {
				t.Errorf("a live activation on a cluster %v ahead was given up: %+v", skew, run)
			}
		})
	}
}

// The time a worker saw the invocation accepted is put on the server's clock, which
// the workflow's own times are on, however far the worker's clock is off.
func TestAcceptedAtIsOnTheServersClock(t *testing.T) {
	server := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	workerBegan := server.Add(-time.Hour) // the worker's clock is an hour behind
	got := onServerClock(server, workerBegan, workerBegan.Add(1500*time.Millisecond))
	if want := server.Add(1500 * time.Millisecond); !got.Equal(want) {
		t.Errorf("accepted at %v, want %v", got, want)
	}
	if got := onServerClock(time.Time{}, workerBegan, workerBegan); !got.Equal(workerBegan) {
		t.Errorf("without a server time: %v", got)
	}
}
