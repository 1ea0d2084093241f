package runner

import (
	"path/filepath"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// seedLog keeps the optional seed-format log (seed_log) up to date: rewritten whenever
// a round finishes, so it grows during the run as the seed's did, and it is whole
// however often the starter was interrupted and resumed (a resumed starter sees every
// finished round again).
type seedLog struct {
	path, format string
	written      int
	// err is the last failure to write; the run goes on, and the final write reports.
	err error
}

// newSeedLog returns the experiment's seed log, or nil when seed_log is off.
func newSeedLog(cfg *config.Config, experiment string) *seedLog {
	if !cfg.SeedLog.On() {
		return nil
	}
	path := cfg.SeedLog.Path
	if path == "" {
		path = filepath.Join(cfg.ResultsDir, experiment, "log_"+cfg.Name+".log")
	}
	return &seedLog{path: path, format: cfg.SeedLog.Format}
}

// update rewrites the log when there are rounds it does not hold yet.
func (l *seedLog) update(rounds []workflows.RoundSummary) {
	if l == nil || len(rounds) <= l.written {
		return
	}
	if l.err = report.WriteSeedLog(l.path, l.format, rounds); l.err == nil {
		l.written = len(rounds)
	}
}

// finish writes the experiment's rounds as its result has them.
func (l *seedLog) finish(rounds []workflows.RoundSummary) error {
	if l == nil {
		return nil
	}
	l.written = 0
	l.update(rounds)
	return l.err
}
