package report

import (
	"path/filepath"
	"strconv"
	"time"

	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// ClientsHeader is the column list of clients.csv: one line per activation (attempt)
// of every selected client, as the seed's per-invocation logs, plus where it ran, how
// it ended and whether its update counted, and for a simulated straggler the epochs it
// was given. A straggler the round dropped without invoking it has one line of its
// own, attempt 0 and status straggler_dropped.
var ClientsHeader = []string{"round", "client", "platform", "cluster", "function", "attempt", "activation_id", "status",
	"counted", "start", "end", "duration_s", "wait_s", "init_s", "cold_start", "train_s", "samples", "loss", "error",
	"invoked_by", "worker", "selected_because", "straggler_epochs",
	"memory_mb", "billed_s", "gb_s", "ghz_s", "bytes_in", "bytes_out", "cost_usd"}

// StatusStragglerDropped is the status of a straggler's line that was never invoked.
const StatusStragglerDropped = "straggler_dropped"

// WriteClients writes clients.csv from the rounds' full records.
func WriteClients(dir string, rounds []workflows.RoundResult, p billing.Pricer) error {
	var rows [][]string
	for _, r := range rounds {
		for _, o := range r.Outcomes {
			rows = append(rows, outcomeRows(r.Round, o, p)...)
		}
	}
	return writeCSV(filepath.Join(dir, "clients.csv"), ClientsHeader, rows)
}

// outcomeRows are one client's lines of a round: one per activation, or the line of a
// straggler that was not invoked.
func outcomeRows(round int, o workflows.ClientOutcome, p billing.Pricer) [][]string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	epochs := ""
	if o.Straggler {
		epochs = strconv.Itoa(o.Epochs)
	}
	if o.Straggler && len(o.Runs) == 0 {
		return [][]string{{strconv.Itoa(round), strconv.Itoa(o.Client), o.Platform, o.Cluster, o.Function, "0", "",
			StatusStragglerDropped, "false", "", "", "", "", "", "", "", "", "", o.Error, "", "", o.Reason, epochs,
			"", "", "", "", "", "", ""}}
	}
	var rows [][]string
	for i, run := range o.Runs {
		duration := ""
		if !run.Start.IsZero() && !run.End.IsZero() {
			duration = num(run.End.Sub(run.Start).Seconds())
		}
		// Only the last run of a counted client delivered the update that counted.
		counted := o.Counted && i == len(o.Runs)-1 && run.Success
		rows = append(rows, append([]string{
			strconv.Itoa(round), strconv.Itoa(o.Client), o.Platform, o.Cluster, o.Function, strconv.Itoa(i + 1),
			run.ActivationID, run.Status, strconv.FormatBool(counted), stamp(run.Start), stamp(run.End),
			duration, num(run.WaitSeconds), num(run.InitSeconds), strconv.FormatBool(run.ColdStart),
			num(run.TrainSeconds), strconv.Itoa(run.Samples), strconv.FormatFloat(run.Loss, 'f', 6, 64), run.Error,
			run.InvokedBy, run.Worker, o.Reason, epochs,
		}, billColumns(run.Priced(p, o.Platform, o.Function))...))
	}
	return rows
}

// billColumns are an activation's bill columns of clients.csv.
func billColumns(u billing.Usage, c billing.Charge) []string {
	return []string{strconv.Itoa(u.MemoryMB), strconv.FormatFloat(c.BilledSeconds, 'f', 3, 64),
		strconv.FormatFloat(c.GBSeconds, 'f', 6, 64), strconv.FormatFloat(c.GHzSeconds, 'f', 6, 64),
		strconv.FormatInt(c.BytesIn, 10), strconv.FormatInt(c.BytesOut, 10), usd(c.USD)}
}

// usd writes dollars to the nano-dollar: one activation can cost a few millionths.
func usd(v float64) string { return strconv.FormatFloat(v, 'f', 9, 64) }
