package workflows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
)

func TestSelectClients(t *testing.T) {
	tests := []struct {
		name         string
		total, k     int
		wantAllKnown bool
	}{
		{"some of many", 100, 10, false},
		{"all", 7, 7, true},
		{"one", 5, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := SelectClients(42, 3, tc.total, tc.k)
			b := SelectClients(42, 3, tc.total, tc.k)
			if len(a) != tc.k {
				t.Fatalf("picked %d, want %d", len(a), tc.k)
			}
			seen := map[int]bool{}
			for i, c := range a {
				if c < 0 || c >= tc.total || seen[c] || (i > 0 && a[i-1] >= c) || b[i] != c {
					t.Fatalf("bad or unstable selection %v vs %v", a, b)
				}
				seen[c] = true
			}
		})
	}
	if fmt.Sprint(SelectClients(42, 1, 100, 10)) == fmt.Sprint(SelectClients(42, 2, 100, 10)) {
		t.Error("two rounds picked the same clients")
	}
	if fmt.Sprint(SelectClients(1, 1, 100, 10)) == fmt.Sprint(SelectClients(2, 1, 100, 10)) {
		t.Error("two seeds picked the same clients")
	}
}

func params() ExperimentParams {
	return ExperimentParams{
		Experiment: "exp", Model: model.Spec{Kind: model.MLP, Hidden: 8},
		Train:        model.TrainOptions{Optimizer: "adam", LR: 1e-3, Epochs: 1, BatchSize: 10, Seed: 1},
		Partition:    partition.Spec{Scheme: partition.NonIID, NumClients: 6, ShardsPerClient: 2, ShardSize: 300, Seed: 1},
		TotalClients: 6, ClientsPerRound: 3, Seed: 7, MaxRounds: 4, MaxAttempts: 3, MinClientsFraction: 0.5,
	}
}

// fakeFabric plays the activities: every client trains, optionally failing some
// attempts; the accuracy rises by 0.1 per version.
type fakeFabric struct {
	mu        sync.Mutex
	failFirst map[int]int           // client -> attempts that fail
	seconds   map[int]int           // client -> how long its successful runs take on the platform
	delays    map[int]time.Duration // client -> how long RunClient takes (test clock)
	attempts  map[string]int
	aggCalls  []activities.AggregateInput
	tasks     []activities.ClientTask // every RunClient input
	inits     []activities.InitInput
	evals     []activities.EvaluateInput
}

func newFake() *fakeFabric {
	return &fakeFabric{failFirst: map[int]int{}, seconds: map[int]int{}, attempts: map[string]int{}}
}

// finish ends an activation: a crash for the client's first failFirst attempts, then
// a success.
func (f *fakeFabric) finish(_ context.Context, inv activities.Invocation) (activities.ClientRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[inv.ActivationID[:len(inv.ActivationID)-3]]++
	n := f.attempts[inv.ActivationID[:len(inv.ActivationID)-3]]
	if n <= f.failFirst[inv.Client] {
		return activities.ClientRun{Client: inv.Client, ActivationID: inv.ActivationID, Status: "action developer error", Error: "crashed"}, nil
	}
	start := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	return activities.ClientRun{Client: inv.Client, ActivationID: inv.ActivationID, Status: "success", Success: true, Samples: 600, Loss: 0.5,
		Start: start, End: start.Add(time.Duration(f.seconds[inv.Client]) * time.Second)}, nil
}

func (f *fakeFabric) register(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.Activities
	env.RegisterActivityWithOptions(&activities.Activities{}, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	env.OnActivity(a.DeployFunctions, mock.Anything, mock.Anything).Return(activities.DeployResult{Functions: []string{"openwhisk/local/fl_client"}}, nil)
	env.OnActivity(a.InitGlobal, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InitInput) (activities.InitResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.inits = append(f.inits, in)
			return activities.InitResult{NumParams: 10}, nil
		})
	env.OnActivity(a.InvokeClient, mock.Anything, mock.Anything).Return(
		func(_ context.Context, task activities.ClientTask) (activities.Invocation, error) {
			return activities.Invocation{Client: task.Client, Platform: "openwhisk", Cluster: "local", Function: "fl_client",
				ActivationID: fmt.Sprintf("r%d-c%d-a%d", task.Round, task.Client, task.Attempt)}, nil
		})
	env.OnActivity(a.PollActivation, mock.Anything, mock.Anything).Return(f.finish)
	// Rounds of this build run each client in one activity.
	runClient := func(_ context.Context, task activities.ClientTask) (activities.ClientRun, error) {
		f.mu.Lock()
		f.tasks = append(f.tasks, task)
		f.mu.Unlock()
		run, err := f.finish(context.Background(), activities.Invocation{Client: task.Client,
			ActivationID: fmt.Sprintf("r%d-c%d-a%d", task.Round, task.Client, task.Attempt)})
		run.Platform, run.Cluster = "openwhisk", "local"
		return run, err
	}
	for c, d := range f.delays {
		env.OnActivity(a.RunClient, mock.Anything, mock.MatchedBy(func(task activities.ClientTask) bool { return task.Client == c })).
			After(d).Return(runClient)
	}
	env.OnActivity(a.RunClient, mock.Anything, mock.Anything).Return(runClient)
	env.OnActivity(a.Aggregate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AggregateInput) (activities.AggregateResult, error) {
			f.mu.Lock()
			f.aggCalls = append(f.aggCalls, in)
			f.mu.Unlock()
			return activities.AggregateResult{Version: in.Round, Updates: len(in.Clients), Samples: 600 * len(in.Clients), Counted: in.Clients}, nil
		})
	env.OnActivity(a.Evaluate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EvaluateInput) (activities.EvaluateResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.evals = append(f.evals, in)
			return activities.EvaluateResult{Accuracy: 0.5 + 0.1*float64(in.Version), Loss: 1 / float64(in.Version)}, nil
		})
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ExperimentWorkflow, workflow.RegisterOptions{Name: ExperimentWorkflowName})
	env.RegisterWorkflowWithOptions(RoundWorkflow, workflow.RegisterOptions{Name: RoundWorkflowName})
	return env
}

func TestExperimentRunsRoundsUntilTarget(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	fake.register(env)
	p := params()
	p.TargetAccuracy = 0.75 // reached by version 3 (0.5 + 0.3)
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ExperimentResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.StoppedBecause != StopTargetReached || len(res.Rounds) != 3 || res.FinalAccuracy < 0.75 {
		t.Fatalf("result %+v", res)
	}
	for i, r := range res.Rounds {
		if r.Round != i+1 || r.Version != i+1 || r.Clients != 3 || r.Counted != 3 || r.Retries != 0 {
			t.Errorf("round %d summary %+v", i+1, r)
		}
	}
	// Each round aggregated the clients it selected, from the previous version.
	for i, call := range fake.aggCalls {
		want := SelectClients(p.Seed, i+1, p.TotalClients, p.ClientsPerRound)
		if fmt.Sprint(call.Clients) != fmt.Sprint(want) || call.BaseVersion != i {
			t.Errorf("round %d aggregated %v from v%d, want %v from v%d", i+1, call.Clients, call.BaseVersion, want, i)
		}
	}
}

func TestExperimentStopsAtMaxRounds(t *testing.T) {
	env := newEnv(t)
	newFake().register(env)
	p := params()
	p.MaxRounds = 2
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	var res ExperimentResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.StoppedBecause != StopMaxRounds || len(res.Rounds) != 2 {
		t.Fatalf("result %+v", res)
	}
}

func TestFailedClientsAreReinvoked(t *testing.T) {
	// Rounds of this build run a client in one activity; rounds that earlier builds
	// started (no version marker in their history) still invoke and poll in two.
	for _, version := range []workflow.Version{1, workflow.DefaultVersion} {
		t.Run(fmt.Sprintf("version %d", version), func(t *testing.T) { failedClientsAreReinvoked(t, version) })
	}
}

func failedClientsAreReinvoked(t *testing.T, version workflow.Version) {
	env := newEnv(t)
	env.OnGetVersion(RunClientChange, workflow.DefaultVersion, 1).Return(version)
	fake := newFake()
	selected := SelectClients(7, 1, 6, 3)
	fake.failFirst[selected[0]] = 2 // two failed attempts, the third succeeds
	fake.register(env)
	oneActivity, twoActivities := 0, 0
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		switch info.ActivityType.Name {
		case "RunClient":
			oneActivity++
		case "InvokeClient", "PollActivation":
			twoActivities++
		}
	})
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{
		Experiment: p.Experiment, Round: 1, BaseVersion: 0, Model: p.Model, Train: p.Train, Partition: p.Partition,
		TotalClients: 6, ClientsPerRound: 3, Seed: 7, MaxAttempts: 3, MinClientsFraction: 1,
	})
	var res RoundResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Retries != 2 || res.Counted != 3 {
		t.Fatalf("retries %d counted %d", res.Retries, res.Counted)
	}
	for _, o := range res.Outcomes {
		wantAttempts := 1
		if o.Client == selected[0] {
			wantAttempts = 3
		}
		if o.Attempts != wantAttempts || !o.Counted || len(o.Runs) != wantAttempts || o.Platform != "openwhisk" {
			t.Errorf("client %d: %+v", o.Client, o)
		}
	}
	// Five attempts in all: one activity each, or two.
	if version == workflow.DefaultVersion && (oneActivity != 0 || twoActivities != 10) ||
		version == 1 && (oneActivity != 5 || twoActivities != 0) {
		t.Errorf("version %d ran %d RunClient and %d InvokeClient/PollActivation activities", version, oneActivity, twoActivities)
	}
}

func TestRoundFailsWhenTooFewClientsReport(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	for _, c := range SelectClients(7, 1, 6, 3) {
		fake.failFirst[c] = 5 // more failures than attempts
	}
	fake.register(env)
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{
		Experiment: p.Experiment, Round: 1, Model: p.Model, Train: p.Train, Partition: p.Partition,
		TotalClients: 6, ClientsPerRound: 3, Seed: 7, MaxAttempts: 2, MinClientsFraction: 0.5,
	})
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeTooFewClients {
		t.Fatalf("error %v, want %s", err, ErrTypeTooFewClients)
	}
	if len(fake.aggCalls) != 0 {
		t.Error("a round without enough clients was aggregated")
	}
}

func TestInvokeIsRetriedOnTransientErrors(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	env.RegisterActivityWithOptions(&activities.Activities{}, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	calls := 0
	env.OnActivity(a.RunClient, mock.Anything, mock.Anything).Return(
		func(_ context.Context, task activities.ClientTask) (activities.ClientRun, error) {
			calls++
			if calls == 1 {
				return activities.ClientRun{}, errors.New("connection refused")
			}
			return activities.ClientRun{Client: task.Client, ActivationID: "abc", Status: "success", Success: true, Samples: 1}, nil
		})
	env.OnActivity(a.Aggregate, mock.Anything, mock.Anything).Return(activities.AggregateResult{Version: 1, Counted: []int{0}}, nil)
	env.OnActivity(a.Evaluate, mock.Anything, mock.Anything).Return(activities.EvaluateResult{Accuracy: 0.9}, nil)
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{Experiment: "exp", Round: 1, Model: p.Model, TotalClients: 1,
		ClientsPerRound: 1, Seed: 1, MaxAttempts: 1, MinClientsFraction: 1})
	var res RoundResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// The activity's retry policy absorbed the error: no re-invocation was counted.
	if calls != 2 || res.Retries != 0 || res.Counted != 1 {
		t.Fatalf("calls %d retries %d counted %d", calls, res.Retries, res.Counted)
	}
}

func TestRejectedInvokeIsNotRetried(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	env.RegisterActivityWithOptions(&activities.Activities{}, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	calls := 0
	env.OnActivity(a.RunClient, mock.Anything, mock.Anything).Return(
		func(_ context.Context, task activities.ClientTask) (activities.ClientRun, error) {
			calls++
			return activities.ClientRun{}, temporal.NewApplicationErrorWithOptions("HTTP 401", activities.ErrTypeRejected,
				temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{activities.InvokePhase}})
		})
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{Experiment: "exp", Round: 1, Model: p.Model, TotalClients: 1,
		ClientsPerRound: 1, Seed: 1, MaxAttempts: 2, MinClientsFraction: 1})
	if env.GetWorkflowError() == nil {
		t.Fatal("round succeeded without clients")
	}
	// One call per attempt of the keeper's loop, none from the activity's retry policy.
	if calls != 2 {
		t.Fatalf("invoke called %d times, want 2", calls)
	}
	if err := env.GetWorkflowError(); !strings.Contains(err.Error(), "client 0: invoke: ") || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("the round's error does not say the client was never invoked: %v", err)
	}
}

func TestContinueAsNewCarriesState(t *testing.T) {
	env := newEnv(t)
	newFake().register(env)
	p := params()
	p.MaxRounds = 5
	p.RoundsPerRun = 2
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new", err)
	}
	if can.WorkflowType.Name != ExperimentWorkflowName {
		t.Errorf("continues as %s", can.WorkflowType.Name)
	}
	// The next run's input carries the finished rounds and skips setup.
	var next ExperimentParams
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.NextRound != 3 || len(next.Rounds) != 2 || !next.SetupDone || next.StartedAt.IsZero() {
		t.Fatalf("carried state %+v", next)
	}
}

// stragglerEnv mocks a round of three clients where the first selected one takes a
// minute and the others a second.
func stragglerEnv(t *testing.T, slow int, failFast int) (*testsuite.TestWorkflowEnvironment, *[]activities.AggregateInput, *int) {
	env := newEnv(t)
	var a *activities.Activities
	env.RegisterActivityWithOptions(&activities.Activities{}, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	var aggs []activities.AggregateInput
	invokes := 0
	run := func(run activities.ClientRun) func(context.Context, activities.ClientTask) (activities.ClientRun, error) {
		return func(_ context.Context, task activities.ClientTask) (activities.ClientRun, error) {
			invokes++
			run.Client, run.ActivationID = task.Client, fmt.Sprintf("c%d-a%d", task.Client, task.Attempt)
			return run, nil
		}
	}
	env.OnActivity(a.RunClient, mock.Anything, mock.MatchedBy(func(task activities.ClientTask) bool { return task.Client == slow })).
		After(time.Minute).Return(run(activities.ClientRun{Status: "success", Success: true, Samples: 600}))
	env.OnActivity(a.RunClient, mock.Anything, mock.MatchedBy(func(task activities.ClientTask) bool { return task.Client == failFast })).
		After(20 * time.Second).Return(run(activities.ClientRun{Status: "action developer error", Error: "crashed"}))
	env.OnActivity(a.RunClient, mock.Anything, mock.Anything).
		After(time.Second).Return(run(activities.ClientRun{Status: "success", Success: true, Samples: 600}))
	env.OnActivity(a.Aggregate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AggregateInput) (activities.AggregateResult, error) {
			aggs = append(aggs, in)
			return activities.AggregateResult{Version: 1, Counted: in.Clients, Updates: len(in.Clients)}, nil
		})
	env.OnActivity(a.Evaluate, mock.Anything, mock.Anything).Return(activities.EvaluateResult{Accuracy: 0.5}, nil)
	return env, &aggs, &invokes
}

func TestDeadlineDropsStragglers(t *testing.T) {
	selected := SelectClients(7, 1, 6, 3)
	env, aggs, _ := stragglerEnv(t, selected[0], -1)
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{Experiment: "exp", Round: 1, Model: p.Model, TotalClients: 6,
		ClientsPerRound: 3, Seed: 7, MaxAttempts: 2, MinClientsFraction: 0.5, DeadlineSeconds: 10, LateUpdates: LateDrop})
	var res RoundResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Counted != 2 || res.Late != 1 || len(*aggs) != 1 || len((*aggs)[0].Clients) != 2 {
		t.Fatalf("counted %d late %d aggregated %v", res.Counted, res.Late, *aggs)
	}
	for _, o := range res.Outcomes {
		if (o.Client == selected[0]) != o.Late || (o.Client == selected[0]) == o.Counted {
			t.Errorf("outcome %+v", o)
		}
	}
	// The round ended at its deadline, not when the straggler would have finished.
	if res.TotalSeconds >= 60 {
		t.Errorf("round took %.0f s", res.TotalSeconds)
	}
}

func TestDeadlineAcceptsLateUpdatesButStopsRetrying(t *testing.T) {
	selected := SelectClients(7, 1, 6, 3)
	env, aggs, invokes := stragglerEnv(t, selected[0], selected[1])
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{Experiment: "exp", Round: 1, Model: p.Model, TotalClients: 6,
		ClientsPerRound: 3, Seed: 7, MaxAttempts: 3, MinClientsFraction: 0.5, DeadlineSeconds: 10, LateUpdates: LateAccept})
	var res RoundResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// The straggler counts; the client that failed at 20 s (after the deadline) is not
	// invoked again.
	if res.Counted != 2 || res.Late != 0 || *invokes != 3 || len((*aggs)[0].Clients) != 2 {
		t.Fatalf("counted %d late %d invokes %d aggregated %v", res.Counted, res.Late, *invokes, *aggs)
	}
	for _, o := range res.Outcomes {
		if o.Client == selected[1] && (o.Counted || o.Attempts != 1 || !strings.Contains(o.Error, "deadline")) {
			t.Errorf("failed client %+v", o)
		}
	}
}

func TestRoundShowsItselfToTheWebUI(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	selected := SelectClients(7, 1, 6, 3)
	fake.failFirst[selected[1]] = 1
	fake.register(env)
	var upserted temporal.SearchAttributes
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		upserted = args.Get(0).(temporal.SearchAttributes)
	}).Return(nil)
	var memo map[string]any
	env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		memo = args.Get(0).(map[string]any)
	}).Return(nil)
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{
		Experiment: p.Experiment, Round: 1, Model: p.Model, Train: p.Train, Partition: p.Partition,
		TotalClients: 6, ClientsPerRound: 3, Seed: 7, MaxAttempts: 3, MinClientsFraction: 1, Index: true,
	})
	var res RoundResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	acc, okAcc := upserted.GetFloat64(AccuracyAttr)
	round, okRound := upserted.GetInt64(RoundAttr)
	retries, okRetries := upserted.GetInt64(RetriesAttr)
	clients, okClients := upserted.GetInt64(ClientsAttr)
	if !okAcc || !okRound || !okRetries || !okClients || acc != res.Accuracy || round != 1 || retries != 1 || clients != 3 {
		t.Errorf("search attributes: accuracy %v round %v retries %v clients %v; round result %+v", acc, round, retries, clients, res.RoundSummary)
	}
	if memo["accuracy"] != res.Accuracy || memo["retries"] != 1 || memo["total_s"] != res.TotalSeconds {
		t.Errorf("memo %v", memo)
	}
	value, err := env.QueryWorkflow(RoundProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var live RoundProgress
	if err := value.Get(&live); err != nil {
		t.Fatal(err)
	}
	states := live.Clients
	live.Clients = nil
	if !reflect.DeepEqual(live, RoundProgress{Round: 1, Selected: 3, Done: 3, Counted: 3, Retries: 1, Phase: "done", StartedAt: live.StartedAt}) || live.StartedAt.IsZero() {
		t.Errorf("live progress %+v", live)
	}
	for i, c := range selected[:3] {
		want := ClientState{Client: c, State: ClientDone, Attempts: 1, Platform: "openwhisk"}
		if i == 1 {
			want.Attempts = 2
		}
		if i >= len(states) || states[i] != want {
			t.Errorf("client states %+v, want %+v at %d", states, want, i)
		}
	}
}

// round_progress shows each client's state while the round runs: one client takes a
// minute, one fails after 20 s and is retried (failing again at 40 s), one is done
// after a second.
func TestRoundProgressShowsEachClient(t *testing.T) {
	selected := SelectClients(7, 1, 6, 3)
	slow, failing, quick := selected[0], selected[1], selected[2]
	env, _, _ := stragglerEnv(t, slow, failing)
	states := map[time.Duration]map[int]ClientState{}
	for _, at := range []time.Duration{10 * time.Second, 30 * time.Second} {
		env.RegisterDelayedCallback(func() {
			value, err := env.QueryWorkflow(RoundProgressQuery)
			if err != nil {
				t.Error(err)
				return
			}
			var live RoundProgress
			if err := value.Get(&live); err != nil {
				t.Error(err)
			}
			states[at] = map[int]ClientState{}
			for _, st := range live.Clients {
				states[at][st.Client] = st
			}
		}, at)
	}
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{Experiment: "exp", Round: 1, Model: p.Model, TotalClients: 6,
		ClientsPerRound: 3, Seed: 7, MaxAttempts: 2, MinClientsFraction: 0.3})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := map[time.Duration]map[int]ClientState{
		10 * time.Second: {slow: {Client: slow, State: ClientRunning, Attempts: 1}, failing: {Client: failing, State: ClientRunning, Attempts: 1},
			quick: {Client: quick, State: ClientDone, Attempts: 1}},
		30 * time.Second: {slow: {Client: slow, State: ClientRunning, Attempts: 1}, failing: {Client: failing, State: ClientRetrying, Attempts: 2},
			quick: {Client: quick, State: ClientDone, Attempts: 1}},
	}
	for at, clients := range want {
		if !maps.Equal(states[at], clients) {
			t.Errorf("at %v: %+v, want %+v", at, states[at], clients)
		}
	}
	value, err := env.QueryWorkflow(RoundProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var end RoundProgress
	if err := value.Get(&end); err != nil {
		t.Fatal(err)
	}
	final := map[int]string{}
	for _, st := range end.Clients {
		final[st.Client] = st.State
	}
	if !maps.Equal(final, map[int]string{slow: ClientDone, failing: ClientFailed, quick: ClientDone}) {
		t.Errorf("at the end %v", final)
	}
}

func TestExperimentWithoutIndexWritesNoSearchAttributes(t *testing.T) {
	env := newEnv(t)
	newFake().register(env)
	calls := 0
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) { calls++ }).Return(nil).Maybe()
	p := params()
	p.MaxRounds = 2
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("%d upserts into a namespace without FedKeeper's search attributes", calls)
	}
}

// With a window of three, ten clients whose runs each take a minute need four waves.
func TestRoundRunsAtMostMaxInFlightClientsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		window      int
		wantMinutes float64
	}{{3, 4}, {0, 1}} {
		t.Run(fmt.Sprintf("window %d", tc.window), func(t *testing.T) {
			env := newEnv(t)
			var a *activities.Activities
			env.RegisterActivityWithOptions(&activities.Activities{}, activity.RegisterOptions{SkipInvalidStructFunctions: true})
			env.OnActivity(a.RunClient, mock.Anything, mock.Anything).After(time.Minute).Return(
				func(_ context.Context, task activities.ClientTask) (activities.ClientRun, error) {
					return activities.ClientRun{Client: task.Client, ActivationID: fmt.Sprint(task.Client), Status: "success", Success: true, Samples: 1}, nil
				})
			env.OnActivity(a.Aggregate, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.AggregateInput) (activities.AggregateResult, error) {
					return activities.AggregateResult{Version: 1, Counted: in.Clients}, nil
				})
			env.OnActivity(a.Evaluate, mock.Anything, mock.Anything).Return(activities.EvaluateResult{Accuracy: 0.5}, nil)
			p := params()
			env.ExecuteWorkflow(RoundWorkflowName, RoundParams{Experiment: "exp", Round: 1, Model: p.Model, TotalClients: 10,
				ClientsPerRound: 10, Seed: 7, MaxAttempts: 1, MinClientsFraction: 1, MaxInFlight: tc.window})
			var res RoundResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.Counted != 10 || res.TotalSeconds < tc.wantMinutes*60 || res.TotalSeconds >= (tc.wantMinutes+1)*60 {
				t.Errorf("counted %d in %.0f s, want 10 in about %.0f minutes", res.Counted, res.TotalSeconds, tc.wantMinutes)
			}
		})
	}
}

// A round with more runs than it may record keeps only the runs that tell a story
// (failures, retries); first-attempt successes are left to the history.
func TestLargeRoundLeavesPlainRunsToItsHistory(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	selected := SelectClients(7, 1, 6, 3)
	fake.failFirst[selected[0]] = 1
	fake.register(env)
	p := params()
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{Experiment: p.Experiment, Round: 1, Model: p.Model, Train: p.Train,
		Partition: p.Partition, TotalClients: 6, ClientsPerRound: 3, Seed: 7, MaxAttempts: 3, MinClientsFraction: 1, MaxRecordedRuns: 3})
	var res RoundResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if !res.RunsInHistory || res.Counted != 3 {
		t.Fatalf("4 runs over a limit of 3: runs in history %v, counted %d", res.RunsInHistory, res.Counted)
	}
	for _, o := range res.Outcomes {
		want := 0
		if o.Client == selected[0] {
			want = 2 // the crash and the success
		}
		if len(o.Runs) != want || !o.Counted || o.Platform == "" {
			t.Errorf("client %d: %d runs kept, want %d (%+v)", o.Client, len(o.Runs), want, o)
		}
	}
}

// The experiment's strategy reaches every round's aggregation.
func TestStrategyReachesTheAggregation(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	fake.register(env)
	p := params()
	p.MaxRounds = 2
	p.Strategy = strategy.Spec{Name: strategy.FedMedian}
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(fake.aggCalls) != 2 {
		t.Fatalf("%d aggregations", len(fake.aggCalls))
	}
	for i, call := range fake.aggCalls {
		if call.Strategy.Kind() != strategy.FedMedian {
			t.Errorf("round %d aggregated with %q", i+1, call.Strategy.Kind())
		}
	}
}

// With local DP on, every client's task carries the mechanism, and every round reports
// the ε of the most-selected client so far.
func TestPrivacyReachesTheClientsAndIsAccounted(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	fake.register(env)
	p := params()
	p.MaxRounds = 3
	p.Privacy = privacy.Mechanism{Clip: 1, NoiseMultiplier: 2, Delta: 1e-5}
	p.Attack = attack.Spec{Kind: attack.SignFlip, Fraction: 0.2, Seed: 1}
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	var res ExperimentResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(fake.tasks) != 9 {
		t.Fatalf("%d client tasks, want 3 rounds of 3", len(fake.tasks))
	}
	for _, task := range fake.tasks {
		if task.Privacy != p.Privacy || task.Attack != p.Attack {
			t.Fatalf("task %+v lacks the experiment's privacy or attack", task)
		}
	}
	taken, most := map[int]int{}, 0
	for i, r := range res.Rounds {
		for _, c := range SelectClients(p.Seed, i+1, p.TotalClients, p.ClientsPerRound) {
			taken[c]++
			most = max(most, taken[c])
		}
		want, _ := privacy.Epsilon(2, most, 1e-5)
		if r.Epsilon != want || r.Epsilon <= 0 {
			t.Errorf("round %d reports ε %v, want %v (%d releases)", i+1, r.Epsilon, want, most)
		}
	}
}

// Straggler-aware selection tries every client first, then takes the fastest tier and
// leaves out the client that missed; what it learned survives continue-as-new.
func TestStragglerAwareSelectionLearnsAcrossContinueAsNew(t *testing.T) {
	fake := newFake()
	for c := range 6 {
		fake.seconds[c] = c + 1 // client 0 is the fastest
	}
	fake.failFirst[5] = 100 // client 5 never reports
	p := params()
	p.MaxRounds, p.RoundsPerRun, p.MaxAttempts = 3, 2, 1
	p.Selection = selection.Spec{Policy: selection.PolicyStragglerAware, Tiers: 2}

	env := newEnv(t)
	fake.register(env)
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new after two rounds", err)
	}
	var next ExperimentParams
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	// Two rounds of three explored all six clients once.
	explored := map[int]bool{}
	for _, call := range fake.tasks {
		explored[call.Client] = true
	}
	if len(fake.tasks) != 6 || len(explored) != 6 {
		t.Fatalf("first two rounds ran %d tasks over %d clients, want each of 6 once", len(fake.tasks), len(explored))
	}
	if s := next.ClientStats[5]; s.Invited != 1 || s.Missed != 1 {
		t.Errorf("client 5 carried as %+v, want invited once and missed once", s)
	}
	if s := next.ClientStats[2]; s.Invited != 1 || s.Missed != 0 || s.EMASeconds != 3 {
		t.Errorf("client 2 carried as %+v, want one 3 s run", s)
	}

	// The next run picks the fastest half of the five that reported.
	env = newEnv(t)
	fake.tasks = nil
	fake.register(env)
	env.ExecuteWorkflow(ExperimentWorkflowName, next)
	var res ExperimentResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	var third []int
	for _, task := range fake.tasks {
		third = append(third, task.Client)
	}
	sort.Ints(third)
	if fmt.Sprint(third) != "[0 1 2]" || len(res.Rounds) != 3 {
		t.Fatalf("round 3 chose %v (%d rounds), want the fastest tier [0 1 2]", third, len(res.Rounds))
	}
}

// A round records why each client was chosen: the experiment's reasons when it chose,
// its own random pick's otherwise.
func TestRoundRecordsWhyEachClientWasChosen(t *testing.T) {
	chosen := []selection.Choice{{Client: 1, Reason: "tier 1 of 2: fast"}, {Client: 4, Reason: "never invited: exploring"}}
	tests := []struct {
		name   string
		chosen []selection.Choice
		want   map[int]string
	}{
		{"chosen by the experiment", chosen, map[int]string{1: "tier 1 of 2: fast", 4: "never invited: exploring"}},
		{"picked by the round", nil, func() map[int]string {
			m := map[int]string{}
			for _, c := range SelectClients(7, 1, 6, 3) {
				m[c] = "random 3 of 6"
			}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			newFake().register(env)
			p := params()
			env.ExecuteWorkflow(RoundWorkflowName, RoundParams{
				Experiment: p.Experiment, Round: 1, Model: p.Model, Train: p.Train, Partition: p.Partition,
				TotalClients: p.TotalClients, ClientsPerRound: p.ClientsPerRound, Seed: p.Seed,
				MaxAttempts: 1, MinClientsFraction: 1, Chosen: tt.chosen,
			})
			var res RoundResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			got := map[int]string{}
			for _, o := range res.Outcomes {
				got[o.Client] = o.Reason
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("reasons %v, want %v", got, tt.want)
			}
		})
	}
}

// Semi-asynchronous rounds aggregate once two of three clients reported; the slow
// client keeps running, is not selected again while it does, and the experiment waits
// for it before it ends.
func TestSemiAsyncRoundsDoNotWaitForStragglers(t *testing.T) {
	env := newEnv(t)
	var a *activities.Activities
	env.RegisterActivityWithOptions(&activities.Activities{}, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	env.OnActivity(a.DeployFunctions, mock.Anything, mock.Anything).Return(activities.DeployResult{}, nil)
	env.OnActivity(a.InitGlobal, mock.Anything, mock.Anything).Return(activities.InitResult{NumParams: 10}, nil)
	slow := SelectClients(7, 1, 6, 3)[0]
	var tasks []activities.ClientTask
	var aggs []activities.AggregateInput
	run := func(_ context.Context, task activities.ClientTask) (activities.ClientRun, error) {
		tasks = append(tasks, task)
		return activities.ClientRun{Client: task.Client, ActivationID: fmt.Sprintf("r%d-c%d", task.Round, task.Client),
			Status: "success", Success: true, Samples: 600}, nil
	}
	env.OnActivity(a.RunClient, mock.Anything, mock.MatchedBy(func(task activities.ClientTask) bool { return task.Client == slow })).
		After(10 * time.Minute).Return(run)
	for c := range 6 {
		env.OnActivity(a.RunClient, mock.Anything, mock.MatchedBy(func(task activities.ClientTask) bool { return task.Client == c })).
			After(time.Duration(c+1) * time.Second).Return(run)
	}
	env.OnActivity(a.Aggregate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AggregateInput) (activities.AggregateResult, error) {
			aggs = append(aggs, in)
			return activities.AggregateResult{Version: in.Round, Updates: len(in.Clients), Counted: in.Clients}, nil
		})
	env.OnActivity(a.Evaluate, mock.Anything, mock.Anything).Return(activities.EvaluateResult{Accuracy: 0.5}, nil)

	p := params()
	p.MaxRounds = 3
	p.Async = AsyncSpec{MinUpdates: 2, StalenessExponent: 0.5, MaxStaleness: 3}
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	var res ExperimentResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rounds) != 3 || len(aggs) != 3 {
		t.Fatalf("%d rounds, %d aggregations", len(res.Rounds), len(aggs))
	}
	for i, in := range aggs {
		if len(in.Clients) != 2 || in.Late == nil || in.Late.MaxStaleness != 3 || slices.Contains(in.Clients, slow) {
			t.Errorf("round %d aggregated %v (late %+v), want two fast clients with late updates folded", i+1, in.Clients, in.Late)
		}
	}
	if r := res.Rounds[0]; r.Running != 1 || r.Counted != 2 {
		t.Errorf("round 1 summary %+v, want 2 counted and the slow client running", r)
	}
	invited := 0
	for _, task := range tasks {
		if !task.AcceptLate {
			t.Errorf("task %+v does not accept late updates", task)
		}
		if task.Client == slow {
			invited++
		}
	}
	if invited != 1 {
		t.Errorf("the slow client was invited %d times while it ran, want once", invited)
	}
	// The rounds took seconds; the experiment waited for the straggler to finish.
	if res.WallSeconds < 600 || res.Rounds[2].TotalSeconds > 60 {
		t.Errorf("experiment %.0f s, last round %.0f s", res.WallSeconds, res.Rounds[2].TotalSeconds)
	}
}

// Continuing as new waits for the rounds still finishing (a terminated round would cut
// its stragglers off) and carries who took part how often.
func TestSemiAsyncContinueAsNewWaitsForStragglers(t *testing.T) {
	env := newEnv(t)
	slow := SelectClients(7, 1, 6, 3)[0]
	fake := newFake()
	fake.delays = map[int]time.Duration{slow: 10 * time.Minute}
	fake.register(env)
	p := params()
	p.MaxRounds, p.RoundsPerRun = 4, 1
	p.Async = AsyncSpec{MinUpdates: 2, MaxStaleness: 3}
	start := env.Now()
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new", err)
	}
	var next ExperimentParams
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.NextRound != 2 || len(next.Taken) != 3 || next.Taken[slow] != 1 || next.Async != p.Async {
		t.Errorf("carried %+v", next)
	}
	if waited := env.Now().Sub(start); waited < 10*time.Minute {
		t.Errorf("continued as new after %v, before the straggler's 10 minutes", waited)
	}
}

// A straggler of a semi-asynchronous round that fails after the round aggregated sits
// the round out: it is not invoked again (its update could only go into a later
// version, and the round no longer waits for it).
func TestSemiAsyncFailedStragglerIsNotInvokedAgain(t *testing.T) {
	env := newEnv(t)
	slow := SelectClients(7, 1, 6, 3)[0]
	fake := newFake()
	fake.delays = map[int]time.Duration{slow: 10 * time.Minute}
	fake.failFirst[slow] = 3
	fake.register(env)
	p := params()
	p.MaxRounds = 1
	p.Async = AsyncSpec{MinUpdates: 2, MaxStaleness: 3}
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var slowTasks []activities.ClientTask
	for _, task := range fake.tasks {
		if task.Client == slow {
			slowTasks = append(slowTasks, task)
		}
	}
	if len(slowTasks) != 1 {
		t.Errorf("the failed straggler was invoked %d times, want once: %+v", len(slowTasks), slowTasks)
	}
}

// The experiment's own activities heartbeat and have heartbeat timeouts, so a dead
// worker's setup is retried within seconds instead of at its start-to-close timeout.
// (The test environment reports no heartbeat timeout for a child workflow's
// activities; the rounds' options are set in round.go beside each other.)
func TestHeartbeatingActivitiesHaveHeartbeatTimeouts(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	fake.register(env)
	timeouts := map[string]time.Duration{}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		timeouts[info.ActivityType.Name] = info.HeartbeatTimeout
	})
	p := params()
	p.MaxRounds = 1
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"DeployFunctions", "InitGlobal"} {
		if d, ok := timeouts[name]; !ok || d <= 0 || d > time.Minute {
			t.Errorf("%s: heartbeat timeout %v (ran: %v)", name, d, ok)
		}
	}
}
