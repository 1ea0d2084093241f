package compare

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// Every variant of every set turns the shipped comparison config into a valid one, under
// a name of its own, changing what the set compares and nothing the others rely on.
func TestSetsMakeValidConfigs(t *testing.T) {
	base, err := config.Load(filepath.Join("..", "experiments", "compare.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	strategies := map[string]bool{}
	for _, set := range Sets() {
		for _, v := range set.Variants {
			cfg, err := variantConfig(base, set, v, 0)
			if err != nil {
				t.Fatalf("%s/%s: %v", set.Name, v.Name, err)
			}
			if names[cfg.Name] {
				t.Errorf("two variants are named %s", cfg.Name)
			}
			names[cfg.Name] = true
			fl := cfg.Scenarios.FederatedLearning
			switch set.Name {
			case "strategies":
				strategies[fl.Strategy.Spec().Kind()] = true
				if fl.Attack.Kind != "" || fl.ClientsInfo.PerRound() != 10 {
					t.Errorf("%s: attack %+v, %d per round", v.Name, fl.Attack, fl.ClientsInfo.PerRound())
				}
			case "attack":
				if fl.ClientsInfo.PerRound() != 20 || fl.DataSampling.Distribution != "iid" {
					t.Errorf("%s: %d per round, %s data", v.Name, fl.ClientsInfo.PerRound(), fl.DataSampling.Distribution)
				}
				if k := fl.Strategy.Spec().Kind(); (k == strategy.Krum || k == strategy.MultiKrumName) && fl.Strategy.Byzantine != 6 {
					t.Errorf("%s expects %d malicious clients, want 6 (30%% of 20)", v.Name, fl.Strategy.Byzantine)
				}
				if attacked := fl.Attack.Kind != ""; attacked == strings.Contains(v.Name, "no attack") {
					t.Errorf("%s: attack %+v", v.Name, fl.Attack)
				}
			case "selection":
				if fl.Strategy.Spec().Kind() != strategy.FedAvg {
					t.Errorf("%s aggregates with %s", v.Name, fl.Strategy.Spec().Kind())
				}
				if v.Name == "straggler_aware" && fl.ClientsInfo.SelectionSpec().Policy != selection.PolicyStragglerAware {
					t.Errorf("straggler_aware runs %+v", fl.ClientsInfo.SelectionSpec())
				}
			case "privacy":
				if on := fl.Privacy.Clip > 0; on == (v.Name == "no privacy") || (on && fl.Privacy.NoiseMultiplier <= 0) {
					t.Errorf("%s: privacy %+v", v.Name, fl.Privacy)
				}
			case "rounds":
				semi := strings.HasPrefix(v.Name, "semi_async")
				if k := fl.Round.AggregateAfter(fl.ClientsInfo.PerRound()); semi != (k > 0) || (semi && k >= 10) {
					t.Errorf("%s aggregates after %d of 10", v.Name, k)
				}
			}
		}
	}
	for _, name := range strategy.Names {
		if !strategies[name] {
			t.Errorf("the strategies comparison leaves out %s", name)
		}
	}
	// The base is untouched: variants work on copies.
	if fl := base.Scenarios.FederatedLearning; fl.Attack.Kind != "" || fl.ClientsInfo.Selection != "random" || fl.Strategy.Name != "fedavg" {
		t.Errorf("a variant changed the base config: %+v %+v %+v", fl.Attack, fl.ClientsInfo, fl.Strategy)
	}
}

func TestAVariantThatBreaksTheConfigIsRefused(t *testing.T) {
	base, err := config.Load(filepath.Join("..", "experiments", "compare.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	set := Set{Name: "x", Variants: []Variant{{Name: "krum f=9", Apply: func(fl *config.FederatedLearning) {
		fl.Strategy = config.Strategy{Name: strategy.Krum, Byzantine: 9}
	}}}}
	if _, err := variantConfig(base, set, set.Variants[0], 0); err == nil || !strings.Contains(err.Error(), "strategy.byzantine") {
		t.Fatalf("error %v, want the byzantine key named", err)
	}
}

func TestWriteTablesAndFigures(t *testing.T) {
	rounds := func(acc ...float64) []workflows.RoundSummary {
		var out []workflows.RoundSummary
		for i, a := range acc {
			out = append(out, workflows.RoundSummary{Round: i + 1, Accuracy: a, Loss: 1 - a, Counted: 10, TotalSeconds: 2})
		}
		return out
	}
	curves := []Curve{
		{Variant: "fedavg", Experiment: "c-1", Rounds: rounds(0.5, 0.8, 0.9)},
		{Variant: "slow", Experiment: "c-2", Rounds: rounds(0.2, 0.4, 0.6)},
		{Variant: "broken", Err: "round 1: only 0 of 10 | clients reported"},
	}
	dir := t.TempDir()
	md, err := Write(dir, Set{Name: "demo", Title: "demo curves", About: "what it shows"}, curves)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"demo.png", "demo.svg", "demo_time.png", "demo_time.svg"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Size() == 0 {
			t.Errorf("figure %s: %v", name, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "demo.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVHeader) || len(rows) != 7 {
		t.Fatalf("csv header %v and %d lines, want 6 rounds", rows[0], len(rows))
	}
	if got := strings.Join(rows[3], ","); got != "fedavg,3,0.9000,0.1000,10,2.0000,6.0000" {
		t.Errorf("third round of fedavg: %s", got)
	}
	// 95% of the best final accuracy (0.9) is 0.85: fedavg reaches it in round 3, the
	// slow variant never.
	// The figures can be drawn again from the CSV file alone.
	for _, name := range []string{"demo.png", "demo_time.svg"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := Redraw(dir, Set{Name: "demo", Title: "demo curves"}); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "demo_time.svg"))
	if err != nil || !strings.Contains(string(svg), "fedavg") || !strings.Contains(string(svg), "slow") {
		t.Errorf("redrawn figure lacks its series (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "demo.png")); err != nil {
		t.Errorf("redrawn png: %v", err)
	}
	for _, want := range []string{"## Demo curves", "what it shows", "first round ≥ 0.85",
		"| fedavg | 3 | 0.9000 | 0.9000 | 3 | 2.00 | `c-1` |", "| slow | 3 | 0.6000 | 0.6000 | never |",
		"| broken | – | failed: round 1: only 0 of 10 / clients reported |", "![demo curves](demo.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// A set with local DP gets an ε column: a number, or ∞ where there is no guarantee.
func TestPrivacyColumn(t *testing.T) {
	r := func(eps float64) []workflows.RoundSummary {
		return []workflows.RoundSummary{{Round: 1, Accuracy: 0.5, Epsilon: eps}}
	}
	md := markdown(Set{Name: "p", Title: "p"}, []Curve{
		{Variant: "none", Rounds: r(0)}, {Variant: "some", Rounds: r(1234.5)}, {Variant: "unbounded", Rounds: r(math.MaxFloat64)},
	})
	for _, want := range []string{"| mean round s | ε | experiment |", "| 0.00 | – |", "| 1.23e+03 |", "| ∞ |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(markdown(Set{Name: "q"}, []Curve{{Variant: "none", Rounds: r(0)}}), "ε") {
		t.Error("a set without privacy has an ε column")
	}
}

// The synthetic sets run experiments/fedprox-synthetic.yaml's experiment on the
// comparison's stack, at 0%, 50% and 90% stragglers, FedAvg against FedProx.
func TestSyntheticSetsAreThePapersExperiment(t *testing.T) {
	base, err := config.Load(filepath.Join("..", "experiments", "compare.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	paper, err := config.Load(filepath.Join("..", "experiments", "fedprox-synthetic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := paper.Scenarios.FederatedLearning
	sets := SyntheticSets()
	if len(sets) != 3 || sets[0].Name != "synthetic-0" || sets[1].Name != "synthetic-50" || sets[2].Name != "synthetic-90" {
		t.Fatalf("synthetic sets %v", names(sets))
	}
	if Strategies().WorkerConfig(base) != nil {
		t.Error("a set on the base's clients asks for a worker of its own")
	}
	for _, set := range sets {
		// Its worker knows the 30 devices and serves its own queue.
		worker := set.WorkerConfig(base)
		if worker == nil || len(worker.ClientPlacements()) != SyntheticDevices || worker.Temporal.TaskQueue != base.Temporal.TaskQueue+SyntheticQueueSuffix {
			t.Fatalf("%s's worker config %+v", set.Name, worker)
		}
		kinds := map[string]float64{}
		for _, v := range set.Variants {
			cfg, err := variantConfig(base, set, v, 0)
			if err != nil {
				t.Fatalf("%s/%s: %v", set.Name, v.Name, err)
			}
			if cfg.Temporal.TaskQueue != worker.Temporal.TaskQueue {
				t.Errorf("%s/%s runs on %s, its worker on %s", set.Name, v.Name, cfg.Temporal.TaskQueue, worker.Temporal.TaskQueue)
			}
			fl := cfg.Scenarios.FederatedLearning
			if fl.DataSampling != want.DataSampling || fl.ModelParams != want.ModelParams ||
				fl.ClientsInfo.TotalNumClients != want.ClientsInfo.TotalNumClients || fl.ClientsInfo.PerRound() != want.ClientsInfo.PerRound() {
				t.Errorf("%s/%s runs %+v %+v, the paper's config %+v %+v", set.Name, v.Name, fl.DataSampling, fl.ModelParams, want.DataSampling, want.ModelParams)
			}
			if cfg.Stop.MaxRounds != SyntheticRounds || cfg.Stop.MaxRounds != paper.Stop.MaxRounds {
				t.Errorf("%s: %d rounds, the paper's config %d", set.Name, cfg.Stop.MaxRounds, paper.Stop.MaxRounds)
			}
			if v.Name == "fedprox mu=1" && (fl.Strategy.Spec() != want.Strategy.Spec() || set.Name == "synthetic-0" && fl.Stragglers != want.Stragglers) {
				t.Errorf("%s/%s: %+v %+v, the paper's config %+v %+v", set.Name, v.Name, fl.Strategy, fl.Stragglers, want.Strategy, want.Stragglers)
			}
			kinds[fl.Strategy.Spec().Kind()+" "+strconv.FormatFloat(fl.Strategy.Spec().ProximalMu, 'g', -1, 64)] = fl.Stragglers.Fraction
			if short, err := variantConfig(base, set, v, 3); err != nil || short.Stop.MaxRounds != 3 {
				t.Errorf("%s with -rounds 3: %v rounds (%v)", set.Name, short.Stop.MaxRounds, err)
			}
		}
		if len(kinds) != 4 || kinds["fedavg 0"] != kinds["fedprox 1"] || kinds["fedprox 0"] != kinds["fedprox 0.01"] {
			t.Errorf("%s runs %v", set.Name, kinds)
		}
	}
	for i, s := range SyntheticStragglerFractions {
		cfg, _ := variantConfig(base, sets[i], sets[i].Variants[0], 0)
		if cfg.Scenarios.FederatedLearning.Stragglers.Fraction != s {
			t.Errorf("%s: stragglers %v, want %v", sets[i].Name, cfg.Scenarios.FederatedLearning.Stragglers, s)
		}
	}
}

func names(sets []Set) []string {
	var out []string
	for _, s := range sets {
		out = append(out, s.Name)
	}
	return out
}

// A set that plots its loss draws it and shows the final loss.
func TestLossFigure(t *testing.T) {
	dir := t.TempDir()
	curves := []Curve{{Variant: "fedprox mu=1", Experiment: "c-1", Rounds: []workflows.RoundSummary{
		{Round: 1, Accuracy: 0.5, Loss: 1.25, Counted: 10, TotalSeconds: 1}, {Round: 2, Accuracy: 0.6, Loss: 0.75, Counted: 10, TotalSeconds: 1}}}}
	set := Set{Name: "syn", Title: "accuracy per round on demo data", PlotLoss: true}
	md, err := Write(dir, set, curves)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "syn_loss.svg"))
	if err != nil || !strings.Contains(string(svg), "training loss per round on demo data") || !strings.Contains(string(svg), "fedprox mu=1") {
		t.Errorf("loss figure: %v", err)
	}
	for _, want := range []string{"| final loss |", "| 0.7500 |", "![training loss per round on demo data](syn_loss.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if err := os.Remove(filepath.Join(dir, "syn_loss.png")); err != nil {
		t.Fatal(err)
	}
	if err := Redraw(dir, set); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "syn_loss.png")); err != nil {
		t.Errorf("redrawn loss figure: %v", err)
	}
}
