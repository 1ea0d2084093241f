// Command compare runs the comparison of docs/comparison/COMPARISON.md: one seeded
// experiment once per aggregation strategy, per strategy under attack, per selection
// policy, per round mode and per level of local differential privacy, and FedAvg
// against FedProx on the FedProx paper's synthetic data at 0%, 50% and 90% stragglers
// (the sets synthetic-0, synthetic-50, synthetic-90; "synthetic" names the three), on
// the embedded stack (or the services the config names), and writes each set's table,
// CSV and figures. `make compare` runs it with experiments/compare.yaml.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/compare"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "experiments/compare.yaml", "the base experiment")
	sets := flag.String("sets", "strategies,attack,selection,rounds,privacy,synthetic", "which comparisons to run, comma-separated (synthetic: synthetic-0, synthetic-50 and synthetic-90)")
	out := flag.String("out", "docs/comparison", "where to write COMPARISON.md, the CSV files and the figures")
	rounds := flag.Int("rounds", 0, "rounds per experiment (0: the config's stop.max_rounds, or the set's own)")
	redraw := flag.Bool("redraw", false, "only draw the sets' figures again from their CSV files in -out")
	flag.Parse()

	chosen, err := pick(*sets)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *redraw {
		for _, set := range chosen {
			if err := compare.Redraw(*out, set); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return 0
	}
	cfg, logger, baseDir, err := bootstrap.Setup(*configPath, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// The comparison is about accuracy per round: a target would end variants early.
	cfg.Stop.TargetAccuracy = 0
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	resolved, stopStack, err := embedded.Resolve(ctx, cfg, logger, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stopStack()
	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	stopWorker, err := bootstrap.StartWorker(ctx, c, resolved, baseDir, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stopWorker()

	failed := false
	for _, set := range chosen {
		fmt.Fprintf(os.Stderr, "%s: %d experiments\n", set.Name, len(set.Variants))
		started := time.Now()
		curves, err := runSet(ctx, c, resolved, set, baseDir, logger, *rounds)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		section, err := compare.Write(*out, set, curves)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// Each set keeps its own section, so rerunning one set leaves the others'.
		section += fmt.Sprintf("_Run on %s: %d rounds per experiment, %s in all (go run ./cmd/compare -config %s -sets %s)._\n\n",
			started.UTC().Format("2006-01-02 15:04 UTC"), mostRounds(curves), time.Since(started).Round(time.Second),
			filepath.ToSlash(*configPath), set.Name)
		if err := os.WriteFile(filepath.Join(*out, set.Name+".md"), []byte(section), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, cv := range curves {
			failed = failed || cv.Err != ""
		}
	}
	doc := "# Comparison\n\nEach set runs the same seeded experiment once per variant, one after the other on the same stack; " +
		"`make compare` writes this file. The experiments' own results (rounds.csv, clients.csv, figures) are in the results directory under the experiment names in the tables.\n\n"
	for _, set := range compare.Sets() {
		section, err := os.ReadFile(filepath.Join(*out, set.Name+".md"))
		if err == nil {
			doc += string(section)
		}
	}
	if err := os.WriteFile(filepath.Join(*out, "COMPARISON.md"), []byte(doc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("wrote %s\n", filepath.Join(*out, "COMPARISON.md"))
	if failed {
		fmt.Fprintln(os.Stderr, "compare: some experiments failed; their rows say why")
		return 1
	}
	return 0
}

// runSet runs a set's experiments, with a worker of the set's own beside the base's
// when the set changes the clients (compare.Set.WorkerConfig).
func runSet(ctx context.Context, c client.Client, base *config.Config, set compare.Set, baseDir string, logger *slog.Logger, rounds int) ([]compare.Curve, error) {
	if wc := set.WorkerConfig(base); wc != nil {
		stop, err := bootstrap.StartWorker(ctx, c, wc, baseDir, logger)
		if err != nil {
			return nil, fmt.Errorf("compare: a worker for %s: %w", set.Name, err)
		}
		defer stop()
	}
	return compare.Run(ctx, c, base, set, compare.Options{Out: os.Stderr, Rounds: rounds})
}

// mostRounds is the longest curve's rounds: what a set ran, whatever set it.
func mostRounds(curves []compare.Curve) int {
	n := 0
	for _, c := range curves {
		n = max(n, len(c.Rounds))
	}
	return n
}

// pick returns the named sets, in the order given; "synthetic" stands for every
// synthetic set.
func pick(names string) ([]compare.Set, error) {
	all := compare.Sets()
	var out []compare.Set
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		if name == strings.TrimSuffix(compare.SyntheticSetPrefix, "-") {
			out = append(out, compare.SyntheticSets()...)
			continue
		}
		i := slices.IndexFunc(all, func(s compare.Set) bool { return s.Name == name })
		if i < 0 {
			known := make([]string, len(all))
			for j, s := range all {
				known[j] = s.Name
			}
			return nil, fmt.Errorf("compare: no set %q (want synthetic or one of %s)", name, strings.Join(known, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
