package activities

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Attempt is what one try at a client's task left: the run to record (the
// activation's, or one describing a failed invocation), the error with the step it
// failed in, and where and when the platform accepted the invocation.
type Attempt struct {
	Run                         ClientRun
	Err                         error
	FailedIn                    string // "invoke: ", "poll: " or "run: "
	Platform, Cluster, Function string
	AcceptedAt                  time.Time
}

// Attempter makes the tries RunAttempts asks for: in a round workflow, activities it
// schedules; in a batch (RunBatch), calls made in the activity itself.
type Attempter interface {
	// Closed says why no client may be invoked again, or "".
	Closed() string
	// Try makes attempt n (from 1).
	Try(n int) Attempt
	// Dropped says whether the client was dropped while its attempt ran (the round's
	// deadline dropped late updates); its attempt then is not recorded.
	Dropped() bool
	// Recorded is told the client's record after each attempt it holds.
	Recorded(rec ClientAttempts)
}

// ClientAttempts is one client's record in a round: each attempt's run, whether an
// update was counted, and otherwise the last error.
type ClientAttempts struct {
	Client   int         `json:"client"`
	Attempts int         `json:"attempts"`
	Runs     []ClientRun `json:"runs,omitempty"`
	Counted  bool        `json:"counted"`
	Error    string      `json:"error,omitempty"`
	// Seconds is the counted run's duration.
	Seconds                     float64 `json:"seconds,omitempty"`
	Platform, Cluster, Function string
	// AcceptedAt is when the platform first accepted the client's function (the
	// Temporal server's clock), zero if never.
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
	// Dropped marks a client still running when the round's deadline dropped it.
	Dropped bool `json:"dropped,omitempty"`
}

// RunAttempts invokes one client and waits for it, re-invoking after a failed or lost
// activation up to maxAttempts times, but never once the round's gate is closed
// (at.Closed). It goes on from rec, the attempts already made (none in a fresh round;
// those a resumed batch checkpointed). Every attempt is recorded. It is the one retry
// loop of both ways a round runs its clients, so both keep the same semantics; in a
// workflow it must only call at's methods, which keep it deterministic.
func RunAttempts(maxAttempts int, rec ClientAttempts, at Attempter) ClientAttempts {
	for n := len(rec.Runs) + 1; n <= maxAttempts; n++ {
		if why := at.Closed(); n > 1 && why != "" {
			rec.Error += " (not invoked again: " + why + ")"
			break
		}
		rec.Attempts = n
		res := at.Try(n)
		if rec.AcceptedAt.IsZero() {
			rec.AcceptedAt = res.AcceptedAt
		}
		if res.Platform != "" {
			rec.Platform, rec.Cluster, rec.Function = res.Platform, res.Cluster, res.Function
		}
		if at.Dropped() {
			rec.Dropped = true
			return rec
		}
		rec = recorded(rec, res)
		at.Recorded(rec)
		if rec.Counted {
			return rec
		}
	}
	return rec
}

// recorded is a client's record with one more attempt's outcome.
func recorded(rec ClientAttempts, res Attempt) ClientAttempts {
	rec.Runs = append(rec.Runs, res.Run)
	switch {
	case res.Err != nil:
		rec.Error = res.FailedIn + res.Err.Error()
	case res.Run.Success:
		rec.Counted, rec.Error = true, ""
		rec.Seconds = res.Run.TrainSeconds
		if d := res.Run.End.Sub(res.Run.Start).Seconds(); d > 0 {
			rec.Seconds = d
		}
	default:
		rec.Error = res.Run.Status + ": " + res.Run.Error
	}
	return rec
}

// AttemptOf is the attempt a RunClient call left: its run, or its error as a run that
// says whether the function was invoked at all.
func AttemptOf(client int, run ClientRun, err error) Attempt {
	if err != nil {
		status, step := "failed", "run: "
		if invokeError(err) {
			status, step = StatusNotInvoked, "invoke: "
		}
		return Attempt{Err: err, FailedIn: step, Run: ClientRun{Client: client, Status: status, Error: err.Error()}}
	}
	return Attempt{Run: run, Platform: run.Platform, Cluster: run.Cluster, Function: run.Function, AcceptedAt: run.AcceptedAt}
}

// invokeError reports whether RunClient failed before its function was invoked.
func invokeError(err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.HasDetails() {
		return false
	}
	var phase string
	return appErr.Details(&phase) == nil && phase == InvokePhase
}
