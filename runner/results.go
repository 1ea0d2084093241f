package runner

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/plots"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// writeResults writes the result files: rounds.csv and summary.json from the
// experiment's result and its bill, clients.csv from every round workflow's full
// record, and the figures drawn from both. The bill prices the records' activations.
func writeResults(ctx context.Context, c client.Client, dir string, res workflows.ExperimentResult, s report.Summary, p billing.Pricer) (report.Summary, error) {
	rounds := make([]workflows.RoundResult, 0, len(res.Rounds))
	for _, r := range res.Rounds {
		full, err := RoundRecord(ctx, c, res.Experiment, r.Round)
		if err != nil {
			return s, fmt.Errorf("results: %w", err)
		}
		rounds = append(rounds, full)
	}
	bill := report.NewBill(p, rounds, s.TargetAccuracy)
	s.Bill = &bill
	if err := report.Write(dir, res, s); err != nil {
		return s, err
	}
	if err := report.WriteClients(dir, rounds, p); err != nil {
		return s, err
	}
	if _, err := plots.Render(dir); err != nil {
		return s, err
	}
	return s, nil
}
