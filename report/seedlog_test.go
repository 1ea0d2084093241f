package report

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// A round renders to exactly the line the seed logged for the same figures; the
// expected lines are copied from the paper's logs (/work/shared/seed/paper-logs).
func TestSeedLineMatchesThePaperLogs(t *testing.T) {
	tests := []struct {
		name   string
		format string
		round  workflows.RoundSummary
		want   string
	}{
		{"log_nn_10_acc_iter.log, first line", config.SeedLogAccuracyTime,
			workflows.RoundSummary{Round: 1, Loss: 1.4558758735656738, InvokeSeconds: 10.644572019577026,
				AggregateSeconds: 12.630955696105957, Accuracy: 0.667, TotalSeconds: 116.87942290306091},
			"Iter: 0, Loss: 1.4558758735656738, InvokeTime:10.644572019577026,  aggTime: 12.630955696105957, Accuracy: 0.667, Time: 116.87942290306091, "},
		{"log_nn_10_acc_iter.log, Iter 57", config.SeedLogAccuracyTime,
			workflows.RoundSummary{Round: 58, Loss: 0.10608486086130142, InvokeSeconds: 11.525969982147217,
				AggregateSeconds: 8.670989036560059, Accuracy: 0.969, TotalSeconds: 35.78641700744629},
			"Iter: 57, Loss: 0.10608486086130142, InvokeTime:11.525969982147217,  aggTime: 8.670989036560059, Accuracy: 0.969, Time: 35.78641700744629, "},
		{"log_test_mnist_nn_100_clients_adam_5_local_epochs_fixed_final_training_time.log, first line", config.SeedLogTrainingTime,
			workflows.RoundSummary{Round: 1, Loss: 1.576971173286438, Accuracy: 0.618, InvokeSeconds: 10.956061124801636,
				AggregateSeconds: 13.414854526519775, TotalSeconds: 122.13838505744934, TrainSeconds: 97.76746940613685},
			"Iter: 1, Loss: 1.576971173286438, Accuracy: 0.618, InvokeTime:10.956061124801636,  aggTime: 13.414854526519775, total Time: 122.13838505744934, Training Time: 97.76746940613685"},
		{"the seed's aggregator also evaluated: aggTime is both; accuracy to 3 places", config.SeedLogTrainingTime,
			workflows.RoundSummary{Round: 22, Loss: 0.5, Accuracy: 0.90525, InvokeSeconds: 0.5, AggregateSeconds: 0.25,
				EvalSeconds: 0.5, TotalSeconds: 4, TrainSeconds: 2.5},
			"Iter: 22, Loss: 0.5, Accuracy: 0.905, InvokeTime:0.5,  aggTime: 0.75, total Time: 4.0, Training Time: 2.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SeedLine(tc.format, tc.round)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	if _, err := SeedLine("csv", workflows.RoundSummary{}); err == nil {
		t.Error("unknown layout accepted")
	}
}

// Numbers print as Python's repr prints a float.
func TestPythonFloatRepr(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{2, "2.0"}, {0.1, "0.1"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {-3.25, "-3.25"},
		{1e-4, "0.0001"}, {1.5e-5, "1.5e-05"}, {1e-5, "1e-05"},
		{1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {1.2345678901234568e+17, "1.2345678901234568e+17"},
		{math.NaN(), "nan"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
	}
	for _, tc := range tests {
		if got := pyFloat(tc.v); got != tc.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// The log reads as the seed's plot_time_iteration.py reads log_nn_10_acc_iter.log: a
// line per round, split at commas, each field's value after its colon, the round
// number being Iter + 1.
func TestSeedLogReadsLikeThePlottingScript(t *testing.T) {
	rounds := []workflows.RoundSummary{
		{Round: 1, Accuracy: 0.7121, InvokeSeconds: 0.51, AggregateSeconds: 0.16, EvalSeconds: 0.04, TotalSeconds: 4.71, Loss: 1.9},
		{Round: 2, Accuracy: 0.8202, InvokeSeconds: 0.49, AggregateSeconds: 0.15, EvalSeconds: 0.05, TotalSeconds: 3.9, Loss: 0.9},
	}
	path := filepath.Join(t.TempDir(), "logs", "log_mnist.log")
	if err := WriteSeedLog(path, config.SeedLogAccuracyTime, rounds); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(rounds) {
		t.Fatalf("%d lines for %d rounds:\n%s", len(lines), len(rounds), data)
	}
	value := func(fields []string, i int) float64 {
		_, v, _ := strings.Cut(strings.TrimSpace(fields[i]), ":")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			t.Fatalf("field %d of %q: %v", i, fields, err)
		}
		return f
	}
	for i, line := range lines {
		fields := strings.Split(strings.TrimRight(line, " "), ",")[:6]
		r := rounds[i]
		if iter := value(fields, 0) + 1; iter != float64(r.Round) {
			t.Errorf("line %d: round %v, want %d", i, iter, r.Round)
		}
		if acc := value(fields, 4); acc != math.Round(r.Accuracy*1000)/1000 {
			t.Errorf("line %d: accuracy %v, want %v", i, acc, r.Accuracy)
		}
		if inv, agg, total := value(fields, 2), value(fields, 3), value(fields, 5); inv != r.InvokeSeconds ||
			agg != r.AggregateSeconds+r.EvalSeconds || total != r.TotalSeconds {
			t.Errorf("line %d: invoke %v agg %v time %v, want %v %v %v", i, inv, agg, total, r.InvokeSeconds, r.AggregateSeconds+r.EvalSeconds, r.TotalSeconds)
		}
	}
}
