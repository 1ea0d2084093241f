package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// display writes what the starter shows: a line per finished round, optionally a live
// status line of the running round, and the final table; or the same as JSON lines.
type display struct {
	out       io.Writer
	maxRounds int
	liveOn    bool
	json      bool
	shown     int
	// liveShown says the cursor sits at the end of a status line to overwrite.
	liveShown bool
	finished  []workflows.RoundSummary
	// seed is the seed-format log, written as rounds finish (nil: none).
	seed *seedLog
}

func newDisplay(out io.Writer, maxRounds int, live, asJSON bool) *display {
	return &display{out: out, maxRounds: maxRounds, liveOn: live && !asJSON, json: asJSON}
}

// rounds shows the rounds not shown yet.
func (d *display) rounds(rounds []workflows.RoundSummary) {
	for ; d.shown < len(rounds); d.shown++ {
		r := rounds[d.shown]
		d.clearLive()
		if d.json {
			line, _ := json.Marshal(struct {
				Event string `json:"event"`
				workflows.RoundSummary
			}{"round", r})
			fmt.Fprintf(d.out, "%s\n", line)
		} else {
			stragglers := ""
			if r.Stragglers > 0 {
				stragglers = fmt.Sprintf("  stragglers %d", r.Stragglers)
			}
			fmt.Fprintf(d.out, "round %3d/%d  clients %d/%d  accuracy %.4f  loss %.4f  invoke %.2fs  train %.2fs  aggregate %.2fs  total %.2fs  retries %d%s\n",
				r.Round, d.maxRounds, r.Counted, r.Clients, r.Accuracy, r.Loss, r.InvokeSeconds, r.TrainSeconds, r.AggregateSeconds, r.TotalSeconds, r.Retries, stragglers)
		}
		d.finished = append(d.finished, r)
	}
	d.seed.update(d.finished)
}

// live redraws the status line of the running round.
func (d *display) live(p workflows.RoundProgress, now time.Time) {
	if !d.liveOn {
		return
	}
	fmt.Fprintf(d.out, "\r\033[Kround %3d/%d  %s  clients done %d/%d  counted %d  retries %d  elapsed %.1fs",
		p.Round, d.maxRounds, p.Phase, p.Done, p.Selected, p.Counted, p.Retries, now.Sub(p.StartedAt).Seconds())
	d.liveShown = true
}

func (d *display) clearLive() {
	if d.liveShown {
		fmt.Fprint(d.out, "\r\033[K")
		d.liveShown = false
	}
}

// summary ends the output: a table of the rounds and the outcome, or a JSON line.
func (d *display) summary(s report.Summary, dir string) {
	d.clearLive()
	if d.json {
		line, _ := json.Marshal(struct {
			Event string `json:"event"`
			report.Summary
			Results string `json:"results"`
		}{"summary", s, dir})
		fmt.Fprintf(d.out, "%s\n", line)
		return
	}
	fmt.Fprintf(d.out, "\nexperiment %s finished: %s after %d rounds\n", s.Experiment, strings.ReplaceAll(s.StoppedBecause, "_", " "), s.Rounds)
	fmt.Fprintf(d.out, "\n  round  accuracy    loss  counted  retries  round s\n")
	for _, r := range d.finished {
		fmt.Fprintf(d.out, "  %5d  %8.4f  %6.4f  %4d/%-3d  %7d  %7.2f\n", r.Round, r.Accuracy, r.Loss, r.Counted, r.Clients, r.Retries, r.TotalSeconds)
	}
	fmt.Fprintf(d.out, "\n  final accuracy %.4f, loss %.4f, wall time %.1fs\n", s.FinalAccuracy, s.FinalLoss, s.WallSeconds)
	if b := s.Bill; b != nil {
		fmt.Fprintf(d.out, "  bill %s\n", billLine(*b))
	}
	fmt.Fprintf(d.out, "  results in %s\n", dir)
	if d.seed != nil {
		fmt.Fprintf(d.out, "  seed log in %s\n", d.seed.path)
	}
}

// billLine says what the experiment cost, per platform, what failed attempts took of
// it and what reaching the target cost.
func billLine(b report.Bill) string {
	line := fmt.Sprintf("$%.6f for %d invocations, %.2f GB-s", b.Total.USD, b.Total.Invocations, b.Total.GBSeconds)
	var parts []string
	for _, platform := range slices.Sorted(maps.Keys(b.Platforms)) {
		parts = append(parts, fmt.Sprintf("%s $%.6f", platform, b.Platforms[platform].USD))
	}
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	if b.Failed.Invocations > 0 {
		line += fmt.Sprintf("; failed attempts $%.6f of it", b.Failed.USD)
	}
	if t := b.ToTarget; t != nil {
		line += fmt.Sprintf("; accuracy %.4g reached for $%.6f (round %d)", t.Accuracy, t.USD, t.Round)
	}
	return line
}
