// Command starter runs a FedKeeper experiment: `starter -config config.yaml`. When the
// config leaves Temporal, MongoDB or a cluster empty (or "embedded"), it brings those up
// in process first; it also runs a worker unless told not to. Like the seed's main.py,
// -r removes the experiment's functions from their clusters, -d deploys them and -s
// starts learning (the default when neither -r nor -d is given), and main.py's option
// names work as they are (-c/--configfile, --remove, --deploy, --start_fl). -attach
// watches an experiment another starter runs, -json prints machine-readable lines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/cliflags"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/dashboard"
	"github.com/fedkeeper/fedkeeper/deploy"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/runner"
)

func main() {
	os.Exit(run())
}

// options are the starter's flags.
type options struct {
	configPath string
	forceNew   bool
	noWorker   bool
	jsonLogs   bool
	remove     bool
	// seedFunctions removes the Python FedKeeper's deployments.
	seedFunctions bool
	deploy        bool
	learn         bool
	asJSON        bool
	attach        string
}

const usageIntro = `usage: starter [flags]

Runs (or resumes) the config's experiment. Like the seed's main.py, -r removes the
experiment's functions, -d deploys them and -s learns; given together they run in that
order. The seed's long options (--configfile, --remove, --deploy, --start_fl) work too.
-seed-functions removes what the Python FedKeeper deployed for the config.

flags:`

// parseFlags reads the starter's flags; the seed's main.py options are aliases of
// FedKeeper's (-c and --configfile of -config, --deploy, --remove, --start_fl).
func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	s := cliflags.New("starter", usageIntro, out)
	s.String(&o.configPath, "config.yaml", "experiment config `file`", "config", "c", "configfile")
	s.Bool(&o.remove, "remove the experiment's client and server functions from their clusters", "r", "remove")
	s.Bool(&o.seedFunctions, "remove the Python FedKeeper's deployments of this config (client_<N>, fl_invoker_weights_update<N>); with -r as well, without it only them", "seed-functions")
	s.Bool(&o.deploy, "deploy the experiment's client and server functions", "d", "deploy")
	s.Bool(&o.learn, "start learning (the default unless -r, -seed-functions or -d is given)", "s", "start_fl")
	s.Bool(&o.forceNew, "start a new experiment even if one of this config is still running", "new")
	s.String(&o.attach, "", "only watch a running experiment: its `id`, or latest for this config's (no worker, nothing started)", "attach")
	s.Bool(&o.asJSON, "print each round and the summary as JSON lines", "json")
	s.Bool(&o.noWorker, "do not run a worker in this process (use separate worker processes)", "no-worker")
	s.Bool(&o.jsonLogs, "write logs as JSON", "json-logs")
	if err := s.Parse(args); err != nil {
		return o, err
	}
	if !o.remove && !o.seedFunctions && !o.deploy {
		o.learn = true
	}
	return o, nil
}

func run() int {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	cfg, logger, baseDir, err := bootstrap.Setup(o.configPath, o.jsonLogs)
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

	if o.remove || o.seedFunctions || o.deploy {
		removal := deploy.Removal{Own: o.remove, Seed: o.seedFunctions}
		if err := manageFunctions(ctx, resolved, baseDir, removal, o.deploy); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if !o.learn {
			return 0
		}
	}
	if err := learn(ctx, resolved, baseDir, logger, o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// learn runs the experiment (or watches it, with -attach), with a worker in this
// process unless -no-worker.
func learn(ctx context.Context, cfg *config.Config, baseDir string, logger *slog.Logger, o options) error {
	c, err := bootstrap.Dial(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	if url, login, err := dashboard.Start(ctx, c, cfg, logger); err != nil {
		return err
	} else if url != "" {
		fmt.Printf("Dashboard: %s (%s)\n", url, login)
	}

	if !o.noWorker && o.attach == "" {
		m, _, err := bootstrap.ServeMetrics(ctx, cfg, logger, nil)
		if err != nil {
			return err
		}
		acts, release, err := bootstrap.ActivitiesWithMetrics(ctx, cfg, baseDir, logger, m)
		if err != nil {
			return err
		}
		defer release()
		w := bootstrap.NewWorker(c, cfg, acts)
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		defer w.Stop()
	}

	opts := runner.Options{ForceNew: o.forceNew, Out: os.Stdout, JSON: o.asJSON, Attach: o.attach, Live: isTerminal(os.Stdout)}
	_, err = runner.Run(ctx, c, cfg, opts)
	return err
}

// manageFunctions removes and then deploys the experiment's functions, as main.py -r -d;
// with -seed-functions the removal takes the Python FedKeeper's deployments too (or
// only them, without -r).
func manageFunctions(ctx context.Context, cfg *config.Config, baseDir string, removal deploy.Removal, deployFns bool) error {
	providers, err := bootstrap.Providers(ctx, cfg)
	if err != nil {
		return err
	}
	if removal.Own || removal.Seed {
		targets, err := deploy.RemovalTargets(cfg, removal)
		if err != nil {
			return err
		}
		fmt.Println(removalHeading(removal))
		if err := deploy.Remove(ctx, providers, targets, os.Stdout); err != nil {
			return err
		}
	}
	if !deployFns {
		return nil
	}
	targets, err := deploy.ExperimentTargets(cfg)
	if err != nil {
		return err
	}
	fmt.Println("deploying the experiment's functions")
	dep, err := bootstrap.FunctionsDeployment(cfg)
	if err != nil {
		return err
	}
	builder := deploy.NewBuilder(cfg, baseDir, filepath.Join(cfg.DataDir, "build"), dep)
	return deploy.Deploy(ctx, builder, providers, cfg.Scenarios.FederatedLearning.Functions, targets, os.Stdout)
}

func removalHeading(r deploy.Removal) string {
	switch {
	case r.Own && r.Seed:
		return "removing the experiment's functions and the Python FedKeeper's"
	case r.Seed:
		return "removing the Python FedKeeper's functions"
	}
	return "removing the experiment's functions"
}

// isTerminal reports whether f is a terminal, where a redrawn status line makes sense.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
