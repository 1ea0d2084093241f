// Command worker hosts FedKeeper's workflows and activities on the config's task queue:
// `worker -config config.yaml`. Start as many as you like; they share the work. With an
// embedded config it joins the stack a starter runs from the same data directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"go.temporal.io/sdk/worker"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "config.yaml", "experiment config file")
	jsonLogs := flag.Bool("json-logs", false, "write logs as JSON")
	flag.Parse()

	cfg, logger, baseDir, err := bootstrap.Setup(*configPath, *jsonLogs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	resolved := cfg
	if discovery.Needed(cfg) {
		endpoints, err := discovery.Find(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			return 1
		}
		resolved = endpoints.Apply(cfg)
	}
	ctx := context.Background()
	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	m, _, err := bootstrap.ServeMetrics(ctx, resolved, logger)
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
	logger.Info("worker started", "task_queue", resolved.Temporal.TaskQueue, "temporal", resolved.Temporal.HostPort)
	if err := w.Run(worker.InterruptCh()); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return 0
}
