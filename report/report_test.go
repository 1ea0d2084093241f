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
	if strings.Join(records[0], ",") != strings.Join(ClientsHeader, ",") || len(records) != 4 {
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
	}
	for _, tc := range tests {
		if got := row(tc.line)[tc.column]; got != tc.want {
			t.Errorf("line %d %s = %q, want %q", tc.line, tc.column, got, tc.want)
		}
	}
}
