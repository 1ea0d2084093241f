package runner

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/plots"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// writeResults writes the result files: rounds.csv and summary.json from the
// experiment's result, clients.csv from every round workflow's full record, and the
// figures drawn from both.
func writeResults(ctx context.Context, c client.Client, dir string, res workflows.ExperimentResult, s report.Summary) error {
	if err := report.Write(dir, res, s); err != nil {
		return err
	}
	rounds := make([]workflows.RoundResult, 0, len(res.Rounds))
	for _, r := range res.Rounds {
		full, err := RoundRecord(ctx, c, res.Experiment, r.Round)
		if err != nil {
			return fmt.Errorf("results: %w", err)
		}
		rounds = append(rounds, full)
	}
	if err := report.WriteClients(dir, rounds); err != nil {
		return err
	}
	if _, err := plots.Render(dir); err != nil {
		return err
	}
	return nil
}
