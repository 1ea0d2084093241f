// Command starter runs a FedKeeper experiment: `starter -config config.yaml`. When the
// config leaves Temporal, MongoDB or an OpenWhisk cluster empty (or "embedded"), it
// brings those up in process first; it also runs a worker unless told not to.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
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
	flag.Parse()

	cfg, logger, baseDir, err := bootstrap.Setup(*configPath, *jsonLogs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	resolved := cfg
	if discovery.Needed(cfg) {
		// Join a stack already running for this data_dir (see the stack command), or
		// bring one up for the length of this run.
		if endpoints, err := discovery.Find(cfg); err == nil {
			resolved = endpoints.Apply(cfg)
			logger.Info("joined the running embedded stack", "pid", endpoints.PID)
			if endpoints.UIURL != "" {
				fmt.Printf("Temporal Web UI: %s/namespaces/%s/workflows\n", endpoints.UIURL, cfg.Temporal.Namespace)
			}
		} else {
			stack, err := embedded.Start(ctx, cfg, embedded.Options{Logger: logger})
			if err != nil {
				fmt.Fprintln(os.Stderr, "embedded stack:", err)
				return 1
			}
			defer stack.Stop()
			resolved = stack.Endpoints.Apply(cfg)
			if stack.UIURL != "" {
				fmt.Printf("Temporal Web UI: %s/namespaces/%s/workflows (while this runs; `bin/stack` keeps it up)\n", stack.UIURL, cfg.Temporal.Namespace)
			}
		}
	}

	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()

	if !*noWorker {
		acts, release, err := bootstrap.Activities(ctx, resolved, baseDir, logger)
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

	if _, err := runner.Run(ctx, c, resolved, runner.Options{ForceNew: *forceNew, Out: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
