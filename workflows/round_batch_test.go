package workflows

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/fedkeeper/fedkeeper/activities"
)

// batches plays RunBatch: every client trains at its first attempt, except in a batch
// holding failing, which fails as a whole; it records each batch's clients.
type batches struct {
	mu      sync.Mutex
	clients [][]int
	failing int
	cleaned []int // rounds CleanUpRound was asked to clean
}

func (b *batches) run(_ context.Context, task activities.BatchTask) (activities.BatchResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var res activities.BatchResult
	var clients []int
	failed := false
	for _, t := range task.Clients {
		clients = append(clients, t.Client)
		failed = failed || t.Client == b.failing
		res.Clients = append(res.Clients, activities.BatchClient{ClientAttempts: activities.ClientAttempts{Client: t.Client, Attempts: 1, Counted: true,
			Runs: []activities.ClientRun{{Client: t.Client, Success: true, Samples: 1}}}})
	}
	b.clients = append(b.clients, clients)
	if failed {
		return res, temporal.NewNonRetryableApplicationError("the cluster is gone", activities.ErrTypeBadConfig, nil)
	}
	return res, nil
}

func batchedRound(t *testing.T, b *batches, p RoundParams) (RoundResult, error) {
	t.Helper()
	env := newEnv(t)
	var a *activities.Activities
	env.RegisterActivityWithOptions(&activities.Activities{}, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	env.OnActivity(a.RunBatch, mock.Anything, mock.Anything).After(time.Minute).Return(b.run)
	env.OnActivity(a.Aggregate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AggregateInput) (activities.AggregateResult, error) {
			return activities.AggregateResult{Version: 1, Counted: in.Clients}, nil
		})
	env.OnActivity(a.Evaluate, mock.Anything, mock.Anything).Return(activities.EvaluateResult{Accuracy: 0.5}, nil)
	env.OnActivity(a.CleanUpRound, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CleanUpInput) (int, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.cleaned = append(b.cleaned, in.Round)
		return 0, nil
	})
	env.ExecuteWorkflow(RoundWorkflowName, p)
	var res RoundResult
	err := env.GetWorkflowResult(&res)
	return res, err
}

// A batched round runs each selected client in exactly one batch, batches of the
// configured size (or a tenth of the round), as many at once as the window holds.
func TestBatchedRoundRunsEveryClientInOneBatch(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		clients, perActivity, win int
		wantSize, wantMinutes     int
	}{
		{"a tenth of the round", 25, 0, 0, 3, 1},
		{"configured size, the window holds one batch", 30, 10, 15, 10, 3},
		{"at most the window", 12, 50, 4, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &batches{failing: -1}
			res, err := batchedRound(t, b, RoundParams{Experiment: "exp", Round: 1, Model: params().Model, TotalClients: tc.clients,
				ClientsPerRound: tc.clients, Seed: 7, MaxAttempts: 2, MinClientsFraction: 1, MaxInFlight: tc.win,
				Batched: true, ClientsPerActivity: tc.perActivity})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]int{}
			for _, batch := range b.clients {
				if len(batch) > tc.wantSize {
					t.Errorf("a batch of %d clients, want at most %d", len(batch), tc.wantSize)
				}
				for _, c := range batch {
					seen[c]++
				}
			}
			if len(seen) != tc.clients || len(b.clients) != (tc.clients+tc.wantSize-1)/tc.wantSize {
				t.Errorf("%d batches ran %d distinct clients (%v), want every one of %d in batches of %d", len(b.clients), len(seen), seen, tc.clients, tc.wantSize)
			}
			for c, n := range seen {
				if n != 1 {
					t.Errorf("client %d ran in %d batches", c, n)
				}
			}
			if fmt.Sprint(b.cleaned) != "[1]" {
				t.Errorf("clean-ups %v, want round 1's once", b.cleaned)
			}
			if res.Counted != tc.clients || res.TotalSeconds < float64(tc.wantMinutes*60) || res.TotalSeconds >= float64((tc.wantMinutes+1)*60) {
				t.Errorf("counted %d in %.0f s, want %d in about %d minutes", res.Counted, res.TotalSeconds, tc.clients, tc.wantMinutes)
			}
		})
	}
}

// A batch that fails as a whole fails its own clients only; the round counts the rest.
func TestFailedBatchFailsOnlyItsClients(t *testing.T) {
	b := &batches{}
	res, err := batchedRound(t, b, RoundParams{Experiment: "exp", Round: 1, Model: params().Model, TotalClients: 20,
		ClientsPerRound: 20, Seed: 7, MaxAttempts: 2, MinClientsFraction: 0.5, Batched: true, ClientsPerActivity: 5})
	if err != nil {
		t.Fatal(err)
	}
	var inFailed []int
	for _, batch := range b.clients {
		for _, c := range batch {
			if c == 0 {
				inFailed = batch
			}
		}
	}
	failed := map[int]bool{}
	for _, c := range inFailed {
		failed[c] = true
	}
	for _, o := range res.Outcomes {
		if o.Counted == failed[o.Client] {
			t.Errorf("client %d counted %v (error %q); its batch failed: %v", o.Client, o.Counted, o.Error, failed[o.Client])
		}
	}
	if res.Counted != 15 || fmt.Sprint(len(inFailed)) != "5" {
		t.Errorf("counted %d, want the 15 outside the failed batch %v", res.Counted, inFailed)
	}
}
