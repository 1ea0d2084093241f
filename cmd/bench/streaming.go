package main

import (
	"context"
	"fmt"
	"os"

	"github.com/fedkeeper/fedkeeper/bench"
)

// streamingFigures are one run of the streaming benchmark's round.
type streamingFigures struct {
	round roundFigures
	// peakRSS is the bench process's peak RSS over the run (bytes): the worker, with
	// the embedded Temporal server and FerretDB in the same process.
	peakRSS int64
}

// streamingBenchmarks runs a round of 1,000 MLP clients with 1.6 MB updates twice on
// the same stack setup: with the batches folding the updates as they arrive (what
// FedKeeper does), and, as the baseline, with the aggregation reading every update
// after the last one arrived (round.fold_updates off). They report the time from the
// last update to the version written, and the process's peak RSS.
func streamingBenchmarks(ctx context.Context, root, dir string) ([]bench.Result, error) {
	var runs [2]streamingFigures
	for i, noFold := range []bool{false, true} {
		s := roundSetup{name: "1,000 MLP clients", clients: 1000, hidden: 500, samples: 10, epochs: 1, containers: 16, noFold: noFold}
		if err := resetPeakRSS(); err != nil {
			return nil, err
		}
		f, err := measureRound(ctx, root, dir, s)
		if err != nil {
			return nil, fmt.Errorf("round of %s (fold %t): %w", s.name, !noFold, err)
		}
		st, err := ownStatus()
		if err != nil {
			return nil, err
		}
		runs[i] = streamingFigures{round: f, peakRSS: st.PeakRSS}
	}
	fold, whole := runs[0], runs[1]
	after := bench.Result{Name: "streaming aggregation, round of 1,000 MLP clients (1.6 MB updates): last update to version written",
		Value: fold.round.afterLast, Baseline: whole.round.afterLast, Unit: "s", Lower: true,
		BaselineName: "the same round reading every update after the last (round.fold_updates off)", Target: "≤ 0.2 s",
		Note: fmt.Sprintf("the round took %.1f s folding (%d of 1,000 updates merged from running sums, the aggregation activity %.2f s), "+
			"%.1f s reading all at the end (the aggregation %.2f s); from the keeper's receipt of the last client's result (the round workflow's clock) "+
			"through the Aggregate activity to the evaluation's start (the round's updates are deleted beside the evaluation); 16 containers. "+
			"Counted from the last activation's end on the platform's clock instead, which adds the wait for the keeper's next look at it "+
			"(OpenWhisk tells no one; a pending activation is looked at about as often as one of the worker's finishes, every 50–250 ms): %.3f s folding, %.2f s reading all at the end",
			fold.round.total, fold.round.merged, fold.round.aggregate, whole.round.total, whole.round.aggregate,
			fold.round.afterLastEnd, whole.round.afterLastEnd)}
	after.Met = bench.Met(fold.round.afterLast <= 0.2)
	rss := bench.Result{Name: "streaming aggregation, round of 1,000 MLP clients: peak RSS of the worker's process",
		Value: float64(fold.peakRSS) / (1 << 20), Baseline: float64(whole.peakRSS) / (1 << 20), Unit: "MiB", Lower: true,
		BaselineName: "the same round reading every update after the last", Target: "O(model), not O(N × model): under half of 1,000 × 1.6 MB",
		Note: "VmHWM of the bench process, reset before each run; it holds the worker with the embedded Temporal server and FerretDB, " +
			"so it is far from the sums alone (a batch holds one float64 sum, 3.2 MB, and reads one update at a time)"}
	rss.Met = bench.Met(fold.peakRSS < 1000*1_600_000/2)
	return []bench.Result{after, rss}, nil
}

// resetPeakRSS starts the process's VmHWM afresh (proc(5): writing 5 to clear_refs).
func resetPeakRSS() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the peak RSS: %w", err)
	}
	return nil
}

func ownStatus() (bench.ProcStatus, error) {
	text, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return bench.ProcStatus{}, err
	}
	return bench.ParseProcStatus(string(text))
}
