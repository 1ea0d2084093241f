package strategy

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func TestCoordinateWise(t *testing.T) {
	odd := [][]float32{{1, 5}, {3, 1}, {2, 9}}
	even := append(odd, []float32{4, 0})
	outlier := [][]float32{{1}, {2}, {3}, {4}, {100}}
	for _, tc := range []struct {
		name string
		got  func() ([]float32, error)
		want []float32
	}{
		// Per parameter: sorted (1,2,3) and (1,5,9).
		{"median of three", func() ([]float32, error) { return Median(odd) }, []float32{2, 5}},
		// (1,2,3,4) and (0,1,5,9): the mean of the middle two.
		{"median of four", func() ([]float32, error) { return Median(even) }, []float32{2.5, 3}},
		// A quarter of four clients is one dropped at each end: mean(2,3), mean(1,5).
		{"trimmed mean", func() ([]float32, error) { return TrimmedMean(even, 0.25) }, []float32{2.5, 3}},
		// One of five dropped at each end: the outlier 100 goes, mean(2,3,4) stays.
		{"trimmed mean drops the outlier", func() ([]float32, error) { return TrimmedMean(outlier, 0.2) }, []float32{3}},
		{"trimmed mean with beta 0 is the mean", func() ([]float32, error) { return TrimmedMean(outlier, 0) }, []float32{22}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := Median([][]float32{{1, 2}, {1}}); err == nil {
		t.Error("models of different lengths accepted")
	}
	if _, err := TrimmedMean(odd, 0.5); err == nil {
		t.Error("beta 0.5 accepted: it trims everything")
	}
}

func TestMultiKrum(t *testing.T) {
	// Five one-parameter models, one of them far off. Tolerating f = 1, each is scored by
	// its n-f-2 = 2 nearest squared distances:
	//   0: 1+4 = 5   1: 1+1 = 2   2: 1+1 = 2   3: 1+4 = 5   100: 9409+9604 = 19013
	models := [][]float32{{0}, {1}, {2}, {3}, {100}}
	ones := []int{1, 1, 1, 1, 1}
	got, chosen, err := MultiKrum(models, ones, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || fmt.Sprint(chosen) != "[1]" {
		t.Errorf("Krum chose %v (%v), want model 1", chosen, got)
	}
	// The three best (1, 2, 0), weighted by samples 1, 3, 1: (1 + 2·3 + 0)/5 = 1.4.
	got, chosen, err = MultiKrum(models, []int{1, 1, 3, 1, 1}, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !near(float64(got[0]), 1.4) || fmt.Sprint(chosen) != "[1 2 0]" {
		t.Errorf("Multi-Krum chose %v, averaged %v; want [1 2 0] and 1.4", chosen, got)
	}
	for _, tc := range []struct {
		f, m int
		want string
	}{{2, 1, "needs more than 6"}, {1, 5, "between 1 and n-f"}, {-1, 1, "needs more"}} {
		if _, _, err := MultiKrum(models, ones, tc.f, tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("f=%d m=%d: %v", tc.f, tc.m, err)
		}
	}
}

func TestServerOptimizers(t *testing.T) {
	// Global model (1, 0); the clients' average (2, 0): the pseudo-gradient is (1, 0).
	// The second parameter did not move and must not.
	global, average := []float32{1, 0}, []float32{2, 0}
	for _, tc := range []struct {
		opt  ServerOptimizer
		want float64
	}{
		// m = Δ = 1; x = 1 + 1·1.
		{ServerOptimizer{Kind: FedAvgM, LR: 1, Beta1: 0.9}, 2},
		// m = 0.1; v = 0.99·τ² + 0.01·1; x = 1 + 0.1·0.1/(√v + 0.001).
		{ServerOptimizer{Kind: FedAdam, LR: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}, 1.0990050488825425},
		// m = 0.1; v = τ² + 1.
		{ServerOptimizer{Kind: FedAdagrad, LR: 0.1, Beta1: 0.9, Tau: 1e-3}, 1.0099900049999988},
		// m = 0.1; v = τ² − 0.01·1·sign(τ² − 1) = τ² + 0.01.
		{ServerOptimizer{Kind: FedYogi, LR: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}, 1.0990049998750062},
	} {
		t.Run(tc.opt.Kind, func(t *testing.T) {
			next, state, err := tc.opt.Step(global, average, ServerState{})
			if err != nil {
				t.Fatal(err)
			}
			if !near(float64(next[0]), tc.want) || next[1] != 0 {
				t.Errorf("next %v, want (%v, 0)", next, tc.want)
			}
			if state.Rounds != 1 || len(state.M) != 2 || (tc.opt.Kind != FedAvgM && len(state.V) != 2) {
				t.Errorf("state %+v", state)
			}
			if global[0] != 1 || average[0] != 2 {
				t.Error("the inputs were modified")
			}
			// A retried aggregation steps again from the same stored state, which a
			// step must not change: from a state with history, two steps agree, and
			// the state they started from is as it was.
			stored := ServerState{Rounds: 3, M: []float32{0.5, 0.25}}
			if tc.opt.Kind != FedAvgM {
				stored.V = []float32{0.04, 0.01}
			}
			kept := fmt.Sprint(stored)
			first, after, err := tc.opt.Step(global, average, stored)
			if err != nil {
				t.Fatal(err)
			}
			again, afterAgain, err := tc.opt.Step(global, average, stored)
			if err != nil || fmt.Sprint(again) != fmt.Sprint(first) || fmt.Sprint(afterAgain) != fmt.Sprint(after) {
				t.Errorf("a retried step from the stored state gave %v (%v), the first %v (%v)", again, afterAgain, first, after)
			}
			if fmt.Sprint(stored) != kept {
				t.Errorf("the step changed the stored state it started from: %v, was %v", stored, kept)
			}
			if fmt.Sprint(first) == fmt.Sprint(next) || after.Rounds != 4 {
				t.Errorf("the stored momentum made no difference: %v (rounds %d)", first, after.Rounds)
			}
		})
	}
}

// Momentum carries over through the stored state: the second round moves by
// β·m + Δ = 0.9·1 + 0.5.
func TestFedAvgMCarriesMomentum(t *testing.T) {
	opt := ServerOptimizer{Kind: FedAvgM, LR: 1, Beta1: 0.9}
	x1, state, err := opt.Step([]float32{1}, []float32{2}, ServerState{})
	if err != nil {
		t.Fatal(err)
	}
	x2, state, err := opt.Step(x1, []float32{2.5}, state)
	if err != nil {
		t.Fatal(err)
	}
	if !near(float64(x2[0]), 3.4) || state.Rounds != 2 {
		t.Errorf("second round %v (state %+v), want 3.4", x2, state)
	}
	// Without momentum and with η 1 it is FedAvg: the average itself.
	plain := ServerOptimizer{Kind: FedAvgM, LR: 1}
	x, _, _ := plain.Step([]float32{1, 4}, []float32{2, 3}, ServerState{})
	if fmt.Sprint(x) != "[2 3]" {
		t.Errorf("FedAvgM without momentum gave %v, want the average", x)
	}
}

func TestServerOptimizerSettings(t *testing.T) {
	for _, kind := range []string{FedAvgM, FedAdam, FedYogi, FedAdagrad} {
		o, err := DefaultServerOptimizer(kind)
		if err != nil || o.Validate() != nil {
			t.Errorf("%s defaults: %+v %v %v", kind, o, err, o.Validate())
		}
	}
	if _, err := DefaultServerOptimizer("sgd"); err == nil {
		t.Error("unknown kind accepted")
	}
	bad := ServerOptimizer{Kind: FedAdam, LR: 0.1, Beta1: 0.9, Beta2: 0.99}
	if _, _, err := bad.Step([]float32{1}, []float32{1}, ServerState{}); err == nil || !strings.Contains(err.Error(), "tau") {
		t.Errorf("tau 0: %v", err)
	}
	good := ServerOptimizer{Kind: FedAdam, LR: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}
	if _, _, err := good.Step([]float32{1}, []float32{1}, ServerState{M: []float32{1, 2}}); err == nil {
		t.Error("a stored state of another model's size accepted")
	}
}

func TestSpec(t *testing.T) {
	if (Spec{}).Kind() != FedAvg || (Spec{}).Validate() != nil || (Spec{}).Robust() || (Spec{}).HasServerOptimizer() {
		t.Error("the zero spec is not plain FedAvg")
	}
	for _, tc := range []struct {
		spec Spec
		want string // part of the error, "" for none
	}{
		{Spec{Name: FedProx, ProximalMu: 0.01}, ""},
		// μ = 0: the paper's ablation, FedAvg that counts stragglers' partial work.
		{Spec{Name: FedProx}, ""},
		{Spec{Name: FedProx, ProximalMu: -1}, "proximal_mu ≥ 0"},
		{Spec{Name: FedProx, ProximalMu: math.Inf(1)}, "finite proximal_mu"},
		{Spec{Name: TrimmedMeanName, TrimBeta: 0.1}, ""},
		{Spec{Name: TrimmedMeanName, TrimBeta: 0.5}, "trim_beta"},
		{Spec{Name: FedAdam, Tau: -1}, "tau"},
		{Spec{Name: Krum, Byzantine: -1}, "non-negative"},
		{Spec{Name: "fedsgd"}, "unknown strategy"},
	} {
		err := tc.spec.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.want)
		}
	}
	o, err := Spec{Name: FedYogi, ServerLR: 0.5}.ServerOptimizer()
	if err != nil || o.LR != 0.5 || o.Beta1 != 0.9 || o.Tau != 1e-3 {
		t.Errorf("fedyogi with server_lr 0.5: %+v %v", o, err)
	}
	models := [][]float32{{0}, {1}, {2}, {3}, {100}}
	samples := []int{1, 1, 1, 1, 1}
	for _, tc := range []struct {
		spec Spec
		want string
		used string
	}{
		{Spec{Name: FedMedian}, "[2]", "[0 1 2 3 4]"},
		{Spec{Name: TrimmedMeanName, TrimBeta: 0.2}, "[2]", "[0 1 2 3 4]"}, // mean(1, 2, 3)
		{Spec{Name: Krum, Byzantine: 1}, "[1]", "[1]"},
		// n − f = 4 best: 1, 2, 0, 3, averaging to 1.5.
		{Spec{Name: MultiKrumName, Byzantine: 1}, "[1.5]", "[1 2 0 3]"},
	} {
		got, used, err := tc.spec.Combine(models, samples)
		if err != nil || fmt.Sprint(got) != tc.want || fmt.Sprint(used) != tc.used {
			t.Errorf("%s: %v from %v (%v), want %s from %s", tc.spec.Kind(), got, used, err, tc.want, tc.used)
		}
	}
}
