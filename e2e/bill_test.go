package e2e

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/runner"
)

// checkBillFiles recomputes the bill by hand from the recorded clients.csv, line by
// line, with the public prices (the config sets none) and Cloud Functions 1st gen's
// CPU tiers, and checks each line's cost_usd, rounds.csv's costs per round and
// platform, and summary.json's total against it.
func checkBillFiles(t *testing.T, outcome runner.Outcome, cfg *config.Config) {
	t.Helper()
	if cfg.Pricing != config.DefaultPricing() {
		t.Fatalf("the test config prices %+v", cfg.Pricing)
	}
	prices := map[string][5]float64{ // GB-s, GHz-s, an invocation, a GiB out, the billing step (s)
		"google": {0.0000025, 0.00001, 0.4 / 1e6, 0.12, 0.1}, "openwhisk": {0.000017, 0, 0, 0, 0.1}, "openfaas": {0, 0, 0, 0, 0.001},
		"aws": {0.0000166667, 0, 0.2 / 1e6, 0.09, 0.001},
	}
	ghz := map[int]float64{128: 0.2, 256: 0.4, 512: 0.8, 1024: 1.4, 2048: 2.4}
	lines := readCSV(t, filepath.Join(outcome.ResultsDir, "clients.csv"))
	col := func(name string) int { return slices.Index(lines[0], name) }
	num := func(row []string, name string) float64 {
		v, err := strconv.ParseFloat(row[col(name)], 64)
		if err != nil && row[col(name)] != "" {
			t.Fatalf("clients.csv %s %q", name, row[col(name)])
		}
		return v
	}
	perRound := map[string]map[string]float64{}
	total := 0.0
	for _, row := range lines[1:] {
		platform, status := row[col("platform")], row[col("status")]
		p, ok := prices[platform]
		if !ok || status == report.StatusStragglerDropped {
			t.Fatalf("clients.csv line %v", row)
		}
		billed, duration, memory := num(row, "billed_s"), num(row, "duration_s"), num(row, "memory_mb")
		// Billed in steps, rounded up (duration_s has 4 decimals: a run within 0.1 ms of
		// a step may have been billed the next one).
		step := p[4]
		switch up := math.Ceil(duration/step-1e-6) * step; {
		case platform == "aws":
			// Lambda bills what its REPORT line says: the function's own run, in whole
			// milliseconds, within the call the keeper timed.
			if ms := billed * 1000; billed <= 0 || billed > up+1e-9 || math.Abs(ms-math.Round(ms)) > 1e-6 {
				t.Errorf("a %v s call to Lambda billed %v s", duration, billed)
			}
		case math.Abs(billed-up) > 1e-9 && math.Abs(billed-up-step) > 1e-9:
			t.Errorf("a %v s run billed %v s", duration, billed)
		}
		gbs := billed * memory / 1024
		cost := gbs * p[0]
		if platform == "google" {
			cost += billed * ghz[int(memory)] * p[1]
		}
		if status != "not invoked" {
			cost += p[2]
		}
		cost += num(row, "bytes_out") / (1 << 30) * p[3]
		if math.Abs(num(row, "gb_s")-gbs) > 1e-6 || math.Abs(num(row, "cost_usd")-cost) > 1e-9 {
			t.Errorf("line %v: gb_s %s cost %s, by hand %.6f GB-s $%.9f", row[:8], row[col("gb_s")], row[col("cost_usd")], gbs, cost)
		}
		if platform == "google" && num(row, "bytes_out") == 0 && row[col("counted")] == "true" {
			t.Errorf("a counted update moved no bytes: %v", row)
		}
		round := row[col("round")]
		if perRound[round] == nil {
			perRound[round] = map[string]float64{}
		}
		perRound[round][platform] += cost
		total += cost
	}
	rounds := readCSV(t, filepath.Join(outcome.ResultsDir, "rounds.csv"))
	rcol := func(name string) int { return slices.Index(rounds[0], name) }
	for _, row := range rounds[1:] {
		for platform := range prices {
			got, _ := strconv.ParseFloat(row[rcol("cost_"+platform+"_usd")], 64)
			if want := perRound[row[0]][platform]; math.Abs(got-want) > 1e-8 {
				t.Errorf("rounds.csv round %s: %s cost %v, clients.csv by hand %.9f", row[0], platform, got, want)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(outcome.ResultsDir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var summary struct {
		Bill report.Bill `json:"bill"`
	}
	if err := json.Unmarshal(data, &summary); err != nil {
		t.Fatal(err)
	}
	if total <= 0 || math.Abs(summary.Bill.Total.USD-total) > 1e-8 || summary.Bill.Total.Invocations == 0 {
		t.Errorf("summary.json bills $%.9f for %d invocations; clients.csv by hand $%.9f", summary.Bill.Total.USD, summary.Bill.Total.Invocations, total)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s: %d lines, %v", path, len(rows), err)
	}
	return rows
}
