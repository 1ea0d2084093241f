package report

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/workflows"
)

func TestClientsCSVHasOneLinePerActivation(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	rounds := []workflows.RoundResult{{
		RoundSummary: workflows.RoundSummary{Round: 4},
		Outcomes: []workflows.ClientOutcome{
			{Client: 7, Platform: "google", Cluster: "gcf", Attempts: 2, Counted: true, Reason: "tier 1 of 3: 2.00 s on average, missed 0 of 4", Runs: []activities.ClientRun{
				{Client: 7, ActivationID: "x1", Status: "crashed", Error: "exit 2", Start: start, End: start.Add(500 * time.Millisecond)},
				{Client: 7, ActivationID: "x2", Status: "success", Success: true, Start: start.Add(time.Second), End: start.Add(3 * time.Second),
					WaitSeconds: 0.25, InitSeconds: 0.75, ColdStart: true, TrainSeconds: 1.5, Samples: 600, Loss: 0.125,
					InvokedBy: "41@host-a", Worker: "42@host-b"},
			}},
			{Client: 9, Platform: "openwhisk", Cluster: "local", Attempts: 1, Runs: []activities.ClientRun{
				{Client: 9, Status: "not invoked", Error: "HTTP 503"},
			}},
			// Simulated stragglers: one FedProx trained for 3 epochs, one FedAvg dropped.
			{Client: 11, Platform: "openwhisk", Cluster: "local", Attempts: 1, Counted: true, Straggler: true, Epochs: 3, Runs: []activities.ClientRun{
				{Client: 11, ActivationID: "x3", Status: "success", Success: true, Samples: 90},
			}},
			{Client: 12, Straggler: true, Epochs: 7, Reason: "random 4 of 30", Error: "straggler (7 of 20 epochs): not invoked, fedavg drops stragglers' updates"},
		},
	}}
	if err := WriteClients(dir, rounds); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "clients.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(records[0], ",") != strings.Join(ClientsHeader, ",") || len(records) != 6 {
		t.Fatalf("header %v, %d lines", records[0], len(records))
	}
	row := func(i int) map[string]string {
		m := map[string]string{}
		for j, name := range ClientsHeader {
			m[name] = records[i][j]
		}
		return m
	}
	tests := []struct {
		line   int
		column string
		want   string
	}{
		{1, "round", "4"}, {1, "client", "7"}, {1, "platform", "google"}, {1, "attempt", "1"}, {1, "status", "crashed"},
		{1, "counted", "false"}, {1, "duration_s", "0.5000"}, {1, "error", "exit 2"},
		{2, "attempt", "2"}, {2, "activation_id", "x2"}, {2, "counted", "true"}, {2, "start", "2026-11-27T12:00:01Z"},
		{2, "duration_s", "2.0000"}, {2, "wait_s", "0.2500"}, {2, "init_s", "0.7500"}, {2, "cold_start", "true"},
		{2, "train_s", "1.5000"}, {2, "samples", "600"}, {2, "loss", "0.125000"},
		{2, "invoked_by", "41@host-a"}, {2, "worker", "42@host-b"}, {2, "selected_because", "tier 1 of 3: 2.00 s on average, missed 0 of 4"},
		{3, "client", "9"}, {3, "status", "not invoked"}, {3, "duration_s", ""}, {3, "start", ""}, {3, "counted", "false"},
		{1, "straggler_epochs", ""}, {3, "straggler_epochs", ""},
		{4, "client", "11"}, {4, "counted", "true"}, {4, "straggler_epochs", "3"}, {4, "samples", "90"},
		{5, "client", "12"}, {5, "attempt", "0"}, {5, "status", StatusStragglerDropped}, {5, "counted", "false"},
		{5, "straggler_epochs", "7"}, {5, "selected_because", "random 4 of 30"}, {5, "error", "straggler (7 of 20 epochs): not invoked, fedavg drops stragglers' updates"},
		{5, "duration_s", ""}, {5, "samples", ""},
	}
	for _, tc := range tests {
		if got := row(tc.line)[tc.column]; got != tc.want {
			t.Errorf("line %d %s = %q, want %q", tc.line, tc.column, got, tc.want)
		}
	}
}

func TestRoundsCSVCountsStragglers(t *testing.T) {
	dir := t.TempDir()
	res := workflows.ExperimentResult{Experiment: "e", Rounds: []workflows.RoundSummary{
		{Round: 1, Clients: 10, Counted: 5, Stragglers: 5, Loss: 1.5, Accuracy: 0.25},
		{Round: 2, Clients: 10, Counted: 10},
	}}
	if err := Write(dir, res, Summary{}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "rounds.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(RoundsHeader) - 1
	if len(records) != 3 || RoundsHeader[last] != "stragglers" || records[1][last] != "5" || records[2][last] != "0" || records[1][9] != "5" {
		t.Errorf("rounds.csv %v", records)
	}
}
