package workflows

import (
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

// A round marks its stragglers from the seed and the round, the same ones whatever the
// strategy: FedProx invokes them with fewer epochs and counts their updates, FedAvg
// does not invoke them and aggregates the others, and the record says who straggled.
func TestRoundMarksStragglers(t *testing.T) {
	const epochs = 5
	tests := []struct {
		name       string
		spec       StragglerSpec
		perRound   int
		stragglers int // of the selected clients
		invoked    int
	}{
		{"no stragglers", StragglerSpec{}, 10, 0, 10},
		{"fedavg drops half", StragglerSpec{Fraction: 0.5}, 10, 5, 5},
		{"fedprox keeps half", StragglerSpec{Fraction: 0.5, Keep: true}, 10, 5, 10},
		{"fedavg drops nine of ten", StragglerSpec{Fraction: 0.9}, 10, 9, 1},
		{"fedprox keeps nine of ten", StragglerSpec{Fraction: 0.9, Keep: true}, 10, 9, 10},
		{"one always finishes", StragglerSpec{Fraction: 0.95}, 4, 3, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			fake := newFake()
			fake.register(env)
			p := params()
			p.TotalClients, p.ClientsPerRound, p.Train.Epochs = 30, tc.perRound, epochs
			p.Strategy = strategy.Spec{}
			if tc.spec.Keep {
				p.Strategy = strategy.Spec{Name: strategy.FedProx, ProximalMu: 1}
			}
			env.ExecuteWorkflow(RoundWorkflowName, RoundParams{
				Experiment: p.Experiment, Round: 3, BaseVersion: 2, Model: p.Model, Train: p.Train,
				Synthetic:    synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 7},
				TotalClients: p.TotalClients, ClientsPerRound: p.ClientsPerRound, Seed: p.Seed,
				MaxAttempts: 1, MinClientsFraction: 1, Strategy: p.Strategy, Stragglers: tc.spec,
			})
			var res RoundResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			selected := SelectClients(p.Seed, 3, p.TotalClients, p.ClientsPerRound)
			want := selection.Stragglers(p.Seed, 3, selected, tc.spec.Fraction, epochs)
			checkStragglerOutcomes(t, res, want, tc.spec.Keep)
			if res.Stragglers != tc.stragglers || res.Counted != tc.invoked || len(fake.tasks) != tc.invoked {
				t.Errorf("%d stragglers, %d counted, %d invoked; want %d, %d, %d", res.Stragglers, res.Counted, len(fake.tasks), tc.stragglers, tc.invoked, tc.invoked)
			}
			for _, task := range fake.tasks {
				e := want[indexOf(selected, task.Client)]
				if (e == 0 && task.Train.Epochs != epochs) || (e > 0 && task.Train.Epochs != e) {
					t.Errorf("client %d was given %d epochs; its straggler draw is %d (0: all %d)", task.Client, task.Train.Epochs, e, epochs)
				}
				if task.Synthetic.Devices != 30 {
					t.Errorf("client %d's task names no synthetic data: %+v", task.Client, task.Synthetic)
				}
			}
			if len(fake.aggCalls) != 1 || len(fake.aggCalls[0].Clients) != tc.invoked {
				t.Errorf("aggregations %+v, want one of %d clients", fake.aggCalls, tc.invoked)
			}
		})
	}
}

// checkStragglerOutcomes compares a round's record with the stragglers drawn for it.
func checkStragglerOutcomes(t *testing.T, res RoundResult, want []int, keep bool) {
	t.Helper()
	for i, o := range res.Outcomes {
		if o.Straggler != (want[i] > 0) || o.Epochs != want[i] {
			t.Errorf("client %d: straggler %v with %d epochs, want %d (0: none)", o.Client, o.Straggler, o.Epochs, want[i])
		}
		dropped := want[i] > 0 && !keep
		if o.Counted == dropped || (len(o.Runs) == 0) != dropped {
			t.Errorf("client %d: counted %v after %d runs; dropped straggler %v", o.Client, o.Counted, len(o.Runs), dropped)
		}
		if dropped && !strings.Contains(o.Error, "not invoked") {
			t.Errorf("client %d: a dropped straggler's record says %q", o.Client, o.Error)
		}
	}
}

func indexOf(xs []int, x int) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	panic(fmt.Sprintf("%d not in %v", x, xs))
}

// A round that started before stragglers existed (no version marker) has none, even if
// its parameters asked for them.
func TestStragglersNeedTheirVersion(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	fake.register(env)
	env.OnGetVersion(StragglersChange, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	p := params()
	p.Train.Epochs = 5
	env.ExecuteWorkflow(RoundWorkflowName, RoundParams{
		Experiment: p.Experiment, Round: 1, Model: p.Model, Train: p.Train, Partition: p.Partition,
		TotalClients: p.TotalClients, ClientsPerRound: 4, Seed: p.Seed, MaxAttempts: 1, MinClientsFraction: 1,
		Stragglers: StragglerSpec{Fraction: 0.5},
	})
	var res RoundResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Stragglers != 0 || len(fake.tasks) != 4 {
		t.Errorf("%d stragglers, %d invoked; want none and all 4", res.Stragglers, len(fake.tasks))
	}
	for _, task := range fake.tasks {
		if task.Train.Epochs != 5 {
			t.Errorf("client %d was given %d epochs, want all 5", task.Client, task.Train.Epochs)
		}
	}
}

// The experiment hands the synthetic data to the initial model's writing, its rounds'
// clients and their evaluations, and the stragglers to its rounds.
func TestExperimentCarriesSyntheticDataAndStragglers(t *testing.T) {
	env := newEnv(t)
	fake := newFake()
	fake.register(env)
	p := params()
	p.MaxRounds, p.TotalClients, p.ClientsPerRound, p.Train.Epochs = 2, 30, 10, 20
	p.Synthetic = synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 7}
	p.Stragglers = StragglerSpec{Fraction: 0.5}
	env.ExecuteWorkflow(ExperimentWorkflowName, p)
	var res ExperimentResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rounds {
		if r.Stragglers != 5 || r.Counted != 5 {
			t.Errorf("round %d: %d stragglers, %d counted; want 5 and 5", r.Round, r.Stragglers, r.Counted)
		}
	}
	if len(fake.inits) != 1 || fake.inits[0].Synthetic != p.Synthetic {
		t.Errorf("initial model written with %+v, want synthetic data %+v", fake.inits, p.Synthetic)
	}
	if len(fake.tasks) != 10 || len(fake.evals) != 2 {
		t.Fatalf("%d client tasks and %d evaluations, want 10 and 2", len(fake.tasks), len(fake.evals))
	}
	for _, task := range fake.tasks {
		if task.Synthetic != p.Synthetic {
			t.Errorf("a round's task has synthetic data %+v, want %+v", task.Synthetic, p.Synthetic)
		}
	}
	for _, ev := range fake.evals {
		if ev.Synthetic != p.Synthetic {
			t.Errorf("version %d evaluated on %+v, want synthetic data %+v", ev.Version, ev.Synthetic, p.Synthetic)
		}
	}
}
