// Command starter runs a FedKeeper experiment: `starter -config config.yaml`. When the
// config leaves Temporal, MongoDB or a cluster empty (or "embedded"), it brings those up
// in process first; it also runs a worker unless told not to. Like the seed's main.py,
// -r removes the experiment's functions from their clusters, -d deploys them and -s
// starts learning (the default when neither -r nor -d is given). -attach watches an
// experiment another starter runs, -json prints machine-readable lines.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/deploy"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/runner"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "config.yaml", "experiment config file")
	forceNew := flag.Bool("new", false, "start a new experiment even if one of this config is still running")
	noWorker := flag.Bool("no-worker", false, "do not run a worker in this process (use separate `worker` processes)")
	jsonLogs := flag.Bool("json-logs", false, "write logs as JSON")
	remove := flag.Bool("r", false, "remove the experiment's client and server functions from their clusters")
	deployFns := flag.Bool("d", false, "deploy the experiment's client and server functions")
	learn := flag.Bool("s", false, "start learning (the default unless -r or -d is given)")
	asJSON := flag.Bool("json", false, "print each round and the summary as JSON lines")
	attach := flag.String("attach", "", "only watch a running experiment: its id, or `latest` for this config's (no worker, nothing started)")
	flag.Parse()
	if !*remove && !*deployFns {
		*learn = true
	}

	cfg, logger, baseDir, err := bootstrap.Setup(*configPath, *jsonLogs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	resolved, stopStack, err := embedded.Resolve(ctx, cfg, logger, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stopStack()

	if *remove || *deployFns {
		if err := manageFunctions(ctx, resolved, baseDir, *remove, *deployFns); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if !*learn {
			return 0
		}
	}

	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()

	if !*noWorker && *attach == "" {
		m, _, err := bootstrap.ServeMetrics(ctx, resolved, logger, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		acts, release, err := bootstrap.ActivitiesWithMetrics(ctx, resolved, baseDir, logger, m)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer release()
		w := bootstrap.NewWorker(c, resolved, acts)
		if err := w.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "start worker:", err)
			return 1
		}
		defer w.Stop()
	}

	opts := runner.Options{ForceNew: *forceNew, Out: os.Stdout, JSON: *asJSON, Attach: *attach, Live: isTerminal(os.Stdout)}
	if _, err := runner.Run(ctx, c, resolved, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// manageFunctions removes and then deploys the experiment's functions, as main.py -r -d.
func manageFunctions(ctx context.Context, cfg *config.Config, baseDir string, remove, deployFns bool) error {
	targets, err := deploy.ExperimentTargets(cfg)
	if err != nil {
		return err
	}
	providers, err := bootstrap.Providers(ctx, cfg)
	if err != nil {
		return err
	}
	if remove {
		fmt.Println("removing the experiment's functions")
		if err := deploy.Remove(ctx, providers, targets, os.Stdout); err != nil {
			return err
		}
	}
	if deployFns {
		fmt.Println("deploying the experiment's functions")
		dep, err := bootstrap.FunctionsDeployment(cfg)
		if err != nil {
			return err
		}
		builder := deploy.NewBuilder(cfg, baseDir, filepath.Join(cfg.DataDir, "build"), dep)
		if err := deploy.Deploy(ctx, builder, providers, cfg.Scenarios.FederatedLearning.Functions, targets, os.Stdout); err != nil {
			return err
		}
	}
	return nil
}

// isTerminal reports whether f is a terminal, where a redrawn status line makes sense.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
