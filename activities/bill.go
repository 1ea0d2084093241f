package activities

import (
	"github.com/fedkeeper/fedkeeper/billing"
)

// StatusNotInvoked is the status of an attempt that never reached its platform.
const StatusNotInvoked = "not invoked"

// Usage is what the run consumed, for the bill: its duration on the platform, the
// memory its function is deployed with, and the weights it moved. A run the platform
// recorded read the global model (modelBytes) and, if it succeeded, sent an update of
// the same size; an attempt that failed without a record (lost, timed out, a poll
// that failed) still cost its invocation, of unknown length; one never invoked, nothing.
// Where the platform said what it billed (BilledSeconds), that is the duration.
func (r ClientRun) Usage(platform string, memoryMB int, modelBytes int64) billing.Usage {
	u := billing.Usage{Platform: platform, MemoryMB: memoryMB, Invoked: r.Status != StatusNotInvoked && r.Status != ""}
	if !u.Invoked || (r.BilledSeconds == 0 && (r.Start.IsZero() || r.End.IsZero())) {
		return u
	}
	u.Seconds = r.End.Sub(r.Start).Seconds()
	if r.BilledSeconds > 0 {
		u.Seconds = r.BilledSeconds
	}
	u.BytesIn = modelBytes
	if r.Success {
		u.BytesOut = modelBytes
	}
	return u
}

// Priced is what the run cost, priced by p. Where it ran is its own record's, or, for
// an attempt whose activity returned no record of where (it failed), the platform and
// function given: its outcome's.
func (r ClientRun) Priced(p billing.Pricer, platform, function string) (billing.Usage, billing.Charge) {
	if r.Platform != "" {
		platform, function = r.Platform, r.Function
	}
	u := r.Usage(platform, p.MemoryMB(platform, function), p.ModelBytes())
	return u, p.Price(u)
}

// countBill counts what a finished run cost in the worker's metrics, priced as the
// results' bill prices it (attempts that ended in an error are billed there only).
func (a *Activities) countBill(task ClientTask, run ClientRun) {
	p, err := billing.NewPricer(a.deps.Config, task.Model)
	if err != nil {
		return
	}
	u, c := run.Priced(p, run.Platform, run.Function)
	a.deps.Metrics.Billed(u.Platform, c)
}
