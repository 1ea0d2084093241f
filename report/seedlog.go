package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// SeedLine renders a round as the Python FedKeeper logged it, in one of its two
// layouts (config.SeedLogAccuracyTime or config.SeedLogTrainingTime), so the seed's
// plotting scripts, which split a line at commas and colons and pick fields by
// position, read it. The times mean what they meant there: InvokeTime until every
// client was invoked, Training Time from then until the last one finished, aggTime the
// aggregator's call, which in the seed also evaluated the model (so aggregation plus
// evaluation here), total Time and Time the whole round.
func SeedLine(format string, r workflows.RoundSummary) (string, error) {
	agg := r.AggregateSeconds + r.EvalSeconds
	switch format {
	case config.SeedLogAccuracyTime:
		// The layout of the paper's log_nn_10_acc_iter.log, whose Iter counted from 0,
		// trailing separator included.
		return fmt.Sprintf("Iter: %d, Loss: %s, InvokeTime:%s,  aggTime: %s, Accuracy: %.3f, Time: %s, ",
			r.Round-1, pyFloat(r.Loss), pyFloat(r.InvokeSeconds), pyFloat(agg), r.Accuracy, pyFloat(r.TotalSeconds)), nil
	case config.SeedLogTrainingTime:
		// The layout of the seed's published FederatedLearning.py, whose Iter counted from 1.
		return fmt.Sprintf("Iter: %d, Loss: %s, Accuracy: %.3f, InvokeTime:%s,  aggTime: %s, total Time: %s, Training Time: %s",
			r.Round, pyFloat(r.Loss), r.Accuracy, pyFloat(r.InvokeSeconds), pyFloat(agg), pyFloat(r.TotalSeconds), pyFloat(r.TrainSeconds)), nil
	}
	return "", fmt.Errorf("seed log: unknown layout %q", format)
}

// WriteSeedLog replaces the file at path with one line per round, never leaving a
// half-written file.
func WriteSeedLog(path, format string, rounds []workflows.RoundSummary) error {
	var b strings.Builder
	for _, r := range rounds {
		line, err := SeedLine(format, r)
		if err != nil {
			return err
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("seed log: %w", err)
	}
	if err := writeAtomically(path, []byte(b.String())); err != nil {
		return fmt.Errorf("seed log: %w", err)
	}
	return nil
}

// pyFloat formats a number as Python's repr of a float does, which is how the seed's
// log printed its times and losses: the shortest digits that read back as the same
// float64, in plain notation with at least one decimal between 1e-4 and 1e16 and in
// exponent notation outside.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	// Python picks the notation by the exponent of the shortest digits, which is what
	// this form carries ("1.5e-05", exponents of at least two digits, as Python's).
	e := strconv.FormatFloat(v, 'e', -1, 64)
	exp, err := strconv.Atoi(e[strings.LastIndexByte(e, 'e')+1:])
	if err != nil || exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}
