// Package report writes an experiment's result files in <results_dir>/<experiment>/:
// rounds.csv (one line per round), clients.csv (one line per activation) and
// summary.json.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// RoundsHeader is the column list of rounds.csv: the seed's figures first, then
// what FedKeeper adds.
var RoundsHeader = []string{"round", "clients", "invoke_s", "train_s", "aggregate_s", "total_s", "loss", "accuracy", "retries",
	"counted", "samples", "eval_s", "version", "stragglers",
	"cost_usd", "cost_openwhisk_usd", "cost_google_usd", "cost_openfaas_usd", "cost_aws_usd"}

// Summary is summary.json.
type Summary struct {
	Experiment     string    `json:"experiment"`
	Config         string    `json:"config"`
	Rounds         int       `json:"rounds"`
	FinalAccuracy  float64   `json:"final_accuracy"`
	FinalLoss      float64   `json:"final_loss"`
	WallSeconds    float64   `json:"wall_seconds"`
	StoppedBecause string    `json:"stopped_because"`
	TargetAccuracy float64   `json:"target_accuracy,omitempty"`
	MaxRounds      int       `json:"max_rounds"`
	Finished       time.Time `json:"finished"`
	// Bill is what the experiment's activations cost (see Bill).
	Bill *Bill `json:"bill,omitempty"`
}

// Write creates dir and writes rounds.csv and summary.json into it, the rounds' costs
// from s.Bill.
func Write(dir string, res workflows.ExperimentResult, s Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	var bill Bill
	if s.Bill != nil {
		bill = *s.Bill
	}
	if err := writeRounds(filepath.Join(dir, "rounds.csv"), res.Rounds, bill); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return writeAtomically(filepath.Join(dir, "summary.json"), append(data, '\n'))
}

func writeRounds(path string, rounds []workflows.RoundSummary, bill Bill) error {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	rows := make([][]string, 0, len(rounds))
	for _, r := range rounds {
		rb := bill.Round(r.Round)
		rows = append(rows, []string{
			strconv.Itoa(r.Round), strconv.Itoa(r.Clients), num(r.InvokeSeconds), num(r.TrainSeconds),
			num(r.AggregateSeconds), num(r.TotalSeconds), strconv.FormatFloat(r.Loss, 'f', 6, 64),
			strconv.FormatFloat(r.Accuracy, 'f', 4, 64), strconv.Itoa(r.Retries),
			strconv.Itoa(r.Counted), strconv.Itoa(r.Samples), num(r.EvalSeconds), strconv.Itoa(r.Version),
			strconv.Itoa(r.Stragglers), usd(rb.Total.USD), usd(rb.Platforms[string(config.OpenWhisk)].USD),
			usd(rb.Platforms[string(config.Google)].USD), usd(rb.Platforms[string(config.OpenFaaS)].USD),
			usd(rb.Platforms[string(config.AWS)].USD),
		})
	}
	return writeCSV(path, RoundsHeader, rows)
}

// writeCSV replaces path with a header and rows, never leaving a half-written file.
func writeCSV(path string, header []string, rows [][]string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.csv")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer os.Remove(f.Name())
	w := csv.NewWriter(f)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("results: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return os.Rename(f.Name(), path)
}

func writeAtomically(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return os.Rename(tmp, path)
}

// NewSummary summarises an experiment's result.
func NewSummary(configName string, target float64, maxRounds int, res workflows.ExperimentResult, finished time.Time) Summary {
	return Summary{
		Experiment: res.Experiment, Config: configName, Rounds: len(res.Rounds), FinalAccuracy: res.FinalAccuracy,
		FinalLoss: res.FinalLoss, WallSeconds: res.WallSeconds, StoppedBecause: res.StoppedBecause,
		TargetAccuracy: target, MaxRounds: maxRounds, Finished: finished.UTC(),
	}
}
