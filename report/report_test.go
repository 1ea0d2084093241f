package report

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// testPricer prices with the default price table, the seed's MLP (397,510 parameters,
// 1,590,040 bytes) and fl_client at 512 MB on Cloud Functions, 256 MB on OpenWhisk.
func testPricer(t *testing.T) billing.Pricer {
	t.Helper()
	cfg, err := config.Parse([]byte(`scenarios:
  federated_learning:
    functions:
      fl_client:
        google: {memory: 512MB}
        openwhisk: {memory: 256}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := billing.NewPricer(cfg, arch.Spec{Kind: arch.MLP, Hidden: 500})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientsCSVHasOneLinePerActivation(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	rounds := []workflows.RoundResult{{
		RoundSummary: workflows.RoundSummary{Round: 4},
		Outcomes: []workflows.ClientOutcome{
			{Client: 7, Platform: "google", Cluster: "gcf", Function: "fl_client", Attempts: 2, Counted: true, Reason: "tier 1 of 3: 2.00 s on average, missed 0 of 4", Runs: []activities.ClientRun{
				{Client: 7, ActivationID: "x1", Status: "crashed", Error: "exit 2", Start: start, End: start.Add(500 * time.Millisecond)},
				{Client: 7, ActivationID: "x2", Status: "success", Success: true, Start: start.Add(time.Second), End: start.Add(3 * time.Second),
					WaitSeconds: 0.25, InitSeconds: 0.75, ColdStart: true, TrainSeconds: 1.5, Samples: 600, Loss: 0.125,
					InvokedBy: "41@host-a", Worker: "42@host-b"},
			}},
			{Client: 9, Platform: "openwhisk", Cluster: "local", Function: "fl_client", Attempts: 1, Runs: []activities.ClientRun{
				{Client: 9, Status: "not invoked", Error: "HTTP 503"},
			}},
			// Simulated stragglers: one FedProx trained for 3 epochs, one FedAvg dropped.
			{Client: 11, Platform: "openwhisk", Cluster: "local", Function: "fl_client", Attempts: 1, Counted: true, Straggler: true, Epochs: 3, Runs: []activities.ClientRun{
				{Client: 11, ActivationID: "x3", Status: "success", Success: true, Samples: 90},
			}},
			{Client: 12, Straggler: true, Epochs: 7, Reason: "random 4 of 30", Error: "straggler (7 of 20 epochs): not invoked, fedavg drops stragglers' updates"},
		},
	}}
	if err := WriteClients(dir, rounds, testPricer(t)); err != nil {
		t.Fatal(err)
	}
	records := readCSV(t, filepath.Join(dir, "clients.csv"))
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
		// The bill, by hand. A failed 0.5 s run at 512 MB on Cloud Functions (800 MHz):
		// 0.25 GB-s at $0.0000025, 0.4 GHz-s at $0.00001, the $0.0000004 invocation; it
		// read the model and sent nothing.
		{1, "memory_mb", "512"}, {1, "billed_s", "0.500"}, {1, "gb_s", "0.250000"}, {1, "ghz_s", "0.400000"},
		{1, "bytes_in", "1590040"}, {1, "bytes_out", "0"}, {1, "cost_usd", "0.000005025"},
		// A successful 2 s one also sends its update out: 1,590,040 bytes at $0.12 a GiB.
		{2, "gb_s", "1.000000"}, {2, "ghz_s", "1.600000"}, {2, "bytes_out", "1590040"}, {2, "cost_usd", "0.000196601"},
		// Never invoked: nothing; OpenWhisk's memory.
		{3, "memory_mb", "256"}, {3, "billed_s", "0.000"}, {3, "cost_usd", "0.000000000"},
		{5, "cost_usd", ""}, {5, "memory_mb", ""},
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
	records := readCSV(t, filepath.Join(dir, "rounds.csv"))
	last := slices.Index(RoundsHeader, "stragglers")
	if len(records) != 3 || records[1][last] != "5" || records[2][last] != "0" || records[1][9] != "5" {
		t.Errorf("rounds.csv %v", records)
	}
}

// billRounds are two rounds: in the first a Cloud Functions client fails once (1 s)
// and succeeds (2 s) and an OpenWhisk one succeeds (1.05 s, billed 1.1); in the second
// the OpenWhisk one is lost without a record and the Cloud Functions one succeeds
// (0.25 s, billed 0.3), and the target is reached.
func billRounds() []workflows.RoundResult {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	run := func(ok bool, seconds float64) activities.ClientRun {
		return activities.ClientRun{ActivationID: "a", Status: "success", Success: ok, Start: at, End: at.Add(time.Duration(seconds * float64(time.Second)))}
	}
	gcf := func(runs ...activities.ClientRun) workflows.ClientOutcome {
		return workflows.ClientOutcome{Client: 0, Platform: "google", Function: "fl_client", Runs: runs}
	}
	ow := func(runs ...activities.ClientRun) workflows.ClientOutcome {
		return workflows.ClientOutcome{Client: 1, Platform: "openwhisk", Function: "fl_client", Runs: runs}
	}
	lost := activities.ClientRun{Status: "failed", Error: "lost"}
	return []workflows.RoundResult{
		{RoundSummary: workflows.RoundSummary{Round: 1, Accuracy: 0.5}, Outcomes: []workflows.ClientOutcome{gcf(run(false, 1), run(true, 2)), ow(run(true, 1.05))}},
		{RoundSummary: workflows.RoundSummary{Round: 2, Accuracy: 0.9}, Outcomes: []workflows.ClientOutcome{gcf(run(true, 0.25)), ow(lost)}},
	}
}

// The bill of billRounds, by hand: Cloud Functions at 512 MB (0.5 GB, 0.8 GHz) costs
// $0.0000025·0.5 + $0.00001·0.8 = $0.00000925 a billed second, plus $0.0000004 an
// invocation, plus $0.12 a GiB of updates sent; OpenWhisk at 256 MB $0.000017·0.25 a
// billed second.
func TestBill(t *testing.T) {
	const perSecond, invocation, ow = 0.00000925, 0.0000004, 0.000017 * 0.25
	update := 1590040.0 / (1 << 30) * 0.12
	round1 := map[string]float64{"google": 3*perSecond + 2*invocation + update, "openwhisk": 1.1 * ow}
	round2 := map[string]float64{"google": 0.3*perSecond + invocation + update, "openwhisk": 0}
	b := NewBill(testPricer(t), billRounds(), 0.9)
	for i, want := range []map[string]float64{round1, round2} {
		rb := b.Round(i + 1)
		for platform, usd := range want {
			if !near(rb.Platforms[platform].USD, usd) {
				t.Errorf("round %d %s: $%.12f, want $%.12f", i+1, platform, rb.Platforms[platform].USD, usd)
			}
		}
		if !near(rb.Total.USD, want["google"]+want["openwhisk"]) {
			t.Errorf("round %d: $%.12f in all", i+1, rb.Total.USD)
		}
	}
	total := round1["google"] + round1["openwhisk"] + round2["google"]
	if !near(b.Total.USD, total) || b.Total.Invocations != 5 || !near(b.Platforms["google"].GHzSeconds, 3.3*0.8) {
		t.Errorf("total %+v, want $%.12f for 5 invocations", b.Total, total)
	}
	// What failed: the first Cloud Functions run (1 s, no update) and the lost
	// OpenWhisk attempt (an invocation OpenWhisk does not charge for).
	if !near(b.Failed.USD, perSecond+invocation) || b.Failed.Invocations != 2 {
		t.Errorf("failed %+v, want $%.12f for 2 invocations", b.Failed, perSecond+invocation)
	}
	if b.ToTarget == nil || b.ToTarget.Round != 2 || !near(b.ToTarget.USD, total) {
		t.Errorf("to target %+v", b.ToTarget)
	}
	if NewBill(testPricer(t), billRounds(), 0.95).ToTarget != nil || NewBill(testPricer(t), billRounds(), 0.5).ToTarget.Round != 1 {
		t.Error("the target's round is the first to reach it")
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-15+1e-9*math.Abs(b) }

// rounds.csv carries each round's bill, in all and per platform.
func TestRoundsCSVCarriesTheBill(t *testing.T) {
	dir := t.TempDir()
	rounds := billRounds()
	res := workflows.ExperimentResult{Experiment: "e", Rounds: []workflows.RoundSummary{rounds[0].RoundSummary, rounds[1].RoundSummary}}
	bill := NewBill(testPricer(t), rounds, 0)
	if err := Write(dir, res, Summary{Bill: &bill}); err != nil {
		t.Fatal(err)
	}
	records := readCSV(t, filepath.Join(dir, "rounds.csv"))
	col := func(name string) int { return slices.Index(RoundsHeader, name) }
	for i, want := range []map[string]string{
		{"cost_usd": usd(bill.Rounds[0].Total.USD), "cost_google_usd": usd(bill.Rounds[0].Platforms["google"].USD),
			"cost_openwhisk_usd": "0.000004675", "cost_openfaas_usd": "0.000000000"},
		{"cost_openwhisk_usd": "0.000000000", "cost_google_usd": usd(bill.Rounds[1].Total.USD)},
	} {
		for name, v := range want {
			if got := records[i+1][col(name)]; got != v {
				t.Errorf("round %d %s = %s, want %s", i+1, name, got, v)
			}
		}
	}
}

// readCSV reads a result file whole.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}
