package plots

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/workflows"
)

func writeResults(t *testing.T, dir string) {
	t.Helper()
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var rounds []workflows.RoundResult
	var summaries []workflows.RoundSummary
	for r := 1; r <= 3; r++ {
		s := workflows.RoundSummary{Round: r, Version: r, Clients: 2, Counted: 2, InvokeSeconds: 0.5, TrainSeconds: float64(r),
			AggregateSeconds: 0.25, TotalSeconds: 1.75 + float64(r), Loss: 1 / float64(r), Accuracy: 0.5 + 0.1*float64(r)}
		summaries = append(summaries, s)
		run := func(client int, cold bool, secs float64) activities.ClientRun {
			return activities.ClientRun{Client: client, ActivationID: "a", Status: "success", Success: true,
				Start: start, End: start.Add(time.Duration(secs * float64(time.Second))), ColdStart: cold, Samples: 10}
		}
		rounds = append(rounds, workflows.RoundResult{RoundSummary: s, Outcomes: []workflows.ClientOutcome{
			{Client: 0, Platform: "openwhisk", Cluster: "local", Function: "fl_client", Attempts: 1, Counted: true, Runs: []activities.ClientRun{run(0, r == 1, 2)}},
			{Client: 1, Platform: "openfaas", Cluster: "edge", Function: "pytorch_client", Attempts: 1, Counted: true, Runs: []activities.ClientRun{run(1, false, 1)}},
		}})
	}
	res := workflows.ExperimentResult{Experiment: "e", Rounds: summaries}
	cfg, err := config.Parse([]byte("pricing:\n  openfaas:\n    gb_second: 0.00001\nscenarios:\n  federated_learning:\n    functions:\n      fl_client:\n        openwhisk: {memory: 256}\n      pytorch_client:\n        openfaas: {memory: 512}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	pricer, err := billing.NewPricer(cfg, arch.Spec{Kind: arch.MLP, Hidden: 10})
	if err != nil {
		t.Fatal(err)
	}
	summary := report.NewSummary("e", 0, 3, res, start)
	bill := report.NewBill(pricer, rounds, 0)
	summary.Bill = &bill
	if err := report.Write(dir, res, summary); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteClients(dir, rounds, pricer); err != nil {
		t.Fatal(err)
	}
}

func TestRenderWritesEveryFigure(t *testing.T) {
	dir := t.TempDir()
	writeResults(t, dir)
	written, err := Render(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(written, ",") != strings.Join(Names, ",") {
		t.Fatalf("wrote %v, want %v", written, Names)
	}
	// Each figure names its series; the SVG keeps the text.
	wantText := map[string][]string{
		"accuracy":           {"accuracy per round", "round"},
		"loss":               {"loss per round"},
		"round_time":         {"invoke", "train", "aggregate", "evaluate"},
		"client_durations":   {"openfaas (3)", "openwhisk (3)"},
		"function_durations": {"fl_client (3)", "pytorch_client (3)"},
		"cold_warm":          {"openwhisk", "openfaas", "cold (1)", "warm (2)", "warm (3)"},
		"cost":               {"openwhisk", "google", "openfaas", "US dollars"},
	}
	for _, name := range Names {
		f, err := os.Open(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s.png: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 150 {
			t.Errorf("%s.png is %v", name, b)
		}
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range wantText[name] {
			if !strings.Contains(string(svg), text) {
				t.Errorf("%s.svg lacks %q", name, text)
			}
		}
	}
}

func TestRenderNamesTheBadCell(t *testing.T) {
	dir := t.TempDir()
	writeResults(t, dir)
	data, _ := os.ReadFile(filepath.Join(dir, "rounds.csv"))
	lines := strings.Split(string(data), "\n")
	lines[2] = strings.Replace(lines[2], "0.7000", "high", 1)
	if err := os.WriteFile(filepath.Join(dir, "rounds.csv"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Render(dir)
	if err == nil || !strings.Contains(err.Error(), "row 3, column accuracy") {
		t.Fatalf("got %v", err)
	}
}
