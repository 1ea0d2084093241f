// Package compare runs one seeded experiment under several variants (aggregation
// strategies, malicious clients, selection policies) one after the other on the same
// stack, and writes their accuracy per round as a table, a CSV file and a figure: the
// comparison a researcher makes before trusting a strategy.
package compare

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// Variant is one experiment of a comparison: the base config with Apply's changes.
type Variant struct {
	Name  string
	Apply func(fl *config.FederatedLearning)
}

// Set is a comparison: variants that differ in one respect.
type Set struct {
	Name     string // file names: <Name>.csv, <Name>.png
	Title    string
	About    string // what the set shows, for the docs
	Variants []Variant
	// Prepare, when set, turns the base config into the set's own experiment before each
	// variant's changes: a set on another workload, with its own rounds and clients.
	// Its experiments then run on a task queue of their own, whose worker must know
	// those clients (see WorkerConfig).
	Prepare func(cfg *config.Config)
	// PlotLoss draws the loss per round too (<Name>_loss), as papers that report
	// training loss plot it.
	PlotLoss bool
}

// Curve is what one variant's experiment produced.
type Curve struct {
	Variant     string                   `json:"variant"`
	Experiment  string                   `json:"experiment"`
	Rounds      []workflows.RoundSummary `json:"rounds"`
	WallSeconds float64                  `json:"wall_seconds"`
	// Err says why the experiment failed (then Rounds is empty).
	Err string `json:"error,omitempty"`
}

// Final is the accuracy after the last round (0 without rounds).
func (c Curve) Final() float64 {
	if len(c.Rounds) == 0 {
		return 0
	}
	return c.Rounds[len(c.Rounds)-1].Accuracy
}

// FinalLoss is the loss after the last round (0 without rounds).
func (c Curve) FinalLoss() float64 {
	if len(c.Rounds) == 0 {
		return 0
	}
	return c.Rounds[len(c.Rounds)-1].Loss
}

// Best is the highest accuracy of any round.
func (c Curve) Best() float64 {
	best := 0.0
	for _, r := range c.Rounds {
		best = max(best, r.Accuracy)
	}
	return best
}

// RoundReaching is the first round at or above accuracy, or 0 if none.
func (c Curve) RoundReaching(accuracy float64) int {
	for _, r := range c.Rounds {
		if r.Accuracy >= accuracy {
			return r.Round
		}
	}
	return 0
}

// FinalEpsilon is the privacy spent by the last round (0: no local DP).
func (c Curve) FinalEpsilon() float64 {
	if len(c.Rounds) == 0 {
		return 0
	}
	return c.Rounds[len(c.Rounds)-1].Epsilon
}

// MeanRoundSeconds is the average of the rounds' total time.
func (c Curve) MeanRoundSeconds() float64 {
	if len(c.Rounds) == 0 {
		return 0
	}
	sum := 0.0
	for _, r := range c.Rounds {
		sum += r.TotalSeconds
	}
	return sum / float64(len(c.Rounds))
}

// Options of a comparison run.
type Options struct {
	// Out receives a line per finished variant.
	Out io.Writer
	// Poll is how often the runner asks for progress (default 1 s).
	Poll time.Duration
	// Rounds, when positive, is every experiment's number of rounds, whatever the base
	// config or the set says.
	Rounds int
}

// Run runs every variant of set, one after the other, with a worker of the base
// config's task queue already polling. Each variant is a new experiment named
// <base name>-<set>-<variant>, so its results land beside the others'. A variant that
// fails is reported in its curve and the others still run; the error is for a config a
// variant made invalid.
func Run(ctx context.Context, c client.Client, base *config.Config, set Set, opts Options) ([]Curve, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	var curves []Curve
	for _, v := range set.Variants {
		cfg, err := variantConfig(base, set, v, opts.Rounds)
		if err != nil {
			return curves, err
		}
		start := time.Now()
		outcome, err := runner.Run(ctx, c, cfg, runner.Options{ForceNew: true, Poll: opts.Poll})
		curve := Curve{Variant: v.Name, Experiment: outcome.Result.Experiment, Rounds: outcome.Result.Rounds,
			WallSeconds: time.Since(start).Seconds()}
		if err != nil {
			if ctx.Err() != nil {
				return curves, err
			}
			curve.Err = err.Error()
			fmt.Fprintf(out, "%-32s failed: %v\n", v.Name, err)
		} else {
			fmt.Fprintf(out, "%-32s %d rounds, final accuracy %.4f, best %.4f, %.0f s\n",
				v.Name, len(curve.Rounds), curve.Final(), curve.Best(), curve.WallSeconds)
		}
		curves = append(curves, curve)
	}
	return curves, nil
}

// WorkerConfig is the config of the worker a set's experiments need besides the base
// config's, or nil when the base's worker serves them: a worker finds its clients in
// its own config, so a set that changes them (Prepare) needs a worker of its own, on
// the task queue Prepare names.
func (s Set) WorkerConfig(base *config.Config) *config.Config {
	if s.Prepare == nil {
		return nil
	}
	cfg := *base
	s.Prepare(&cfg)
	return &cfg
}

// variantConfig is base with the set's and the variant's changes under its own name,
// rounds (when positive) rounds long, checked as a loaded config is.
func variantConfig(base *config.Config, set Set, v Variant, rounds int) (*config.Config, error) {
	cfg := *base
	cfg.Name = fmt.Sprintf("%s-%s-%s", base.Name, set.Name, slug(v.Name))
	if set.Prepare != nil {
		set.Prepare(&cfg)
	}
	if rounds > 0 {
		cfg.Stop.MaxRounds = rounds
	}
	v.Apply(&cfg.Scenarios.FederatedLearning)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("compare: variant %q of %s: %w", v.Name, set.Name, err)
	}
	return &cfg, nil
}

// slug keeps letters and digits of a variant's name, joined by dashes.
func slug(name string) string {
	fields := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	return strings.Join(fields, "-")
}
