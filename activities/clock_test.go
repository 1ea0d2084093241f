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
	"github.com/fedkeeper/fedkeeper/functions/pack"
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
			code, err := pack.ZipExecutable("exec", self)
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

// The times a worker reports (an invocation accepted, a client done) are on the
// server's clock, which the workflow's own times are on: a worker whose clock is far
// off is corrected by its activity's start on the server's clock; one whose clock
// agrees keeps its own, which the delay before the activity's code began would
// otherwise put early.
func TestReportedTimesAreOnTheServersClock(t *testing.T) {
	server := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		began time.Time // the worker's clock when the activity's code began
		want  time.Time // the server's when the worker has measured 1.5 s since
	}{
		{"worker an hour behind", server.Add(-time.Hour), server.Add(1500 * time.Millisecond)},
		{"worker an hour ahead", server.Add(time.Hour), server.Add(1500 * time.Millisecond)},
		{"clocks agree, the code began 0.9 s after the start", server.Add(900 * time.Millisecond), server.Add(2400 * time.Millisecond)},
		{"clocks agree, the worker's a little behind", server.Add(-200 * time.Millisecond), server.Add(1300 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newServerClock(server, tc.began)
			got := onServerClock(c.started, c.began, tc.began.Add(1500*time.Millisecond))
			if !got.Equal(tc.want) {
				t.Errorf("reported %v, want %v", got, tc.want)
			}
			if back := c.local(got); !back.Equal(tc.began.Add(1500 * time.Millisecond)) {
				t.Errorf("back on the worker's clock %v, want %v", back, tc.began.Add(1500*time.Millisecond))
			}
		})
	}
	if got := onServerClock(time.Time{}, server, server); !got.Equal(server) {
		t.Errorf("without a server time: %v", got)
	}
}
