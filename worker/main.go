// Command worker hosts FedKeeper's workflows and activities on the config's task queue:
// `worker -config config.yaml`. Start as many as you like; they share the work. With an
// embedded config it joins the stack a starter runs from the same data directory.
//
// Beside the metrics (metrics.listen) it serves /healthz and /readyz behind the same
// token; `worker -config config.yaml -probe` asks /readyz and exits 0 when ready, for
// container health checks. On SIGTERM or SIGINT it turns unready, lets its running
// activities finish for worker.stop_timeout and hands the rest back to Temporal, which
// retries them on the other workers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/dashboard"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
	"github.com/fedkeeper/fedkeeper/health"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "config.yaml", "experiment config file")
	jsonLogs := flag.Bool("json-logs", false, "write logs as JSON")
	probe := flag.Bool("probe", false, "ask a running worker's /readyz (at metrics.listen) and exit 0 if it is ready")
	flag.Parse()

	cfg, logger, baseDir, err := bootstrap.Setup(*configPath, *jsonLogs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *probe {
		return probeReady(cfg)
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	checker := health.New(func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, nil)
		return err
	})
	// The endpoints outlive the signal: they answer "not ready" while the worker stops.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	m, _, err := bootstrap.ServeMetrics(serveCtx, resolved, logger, checker)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if url, login, err := dashboard.Start(serveCtx, c, resolved, logger); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	} else if url != "" {
		logger.Info("serving the dashboard", "url", url, "login", login)
	}
	acts, release, err := bootstrap.ActivitiesWithMetrics(ctx, resolved, baseDir, logger, m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer release()
	w := bootstrap.NewWorker(c, resolved, acts)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	checker.SetRunning(true)
	logger.Info("worker started", "task_queue", resolved.Temporal.TaskQueue, "temporal", resolved.Temporal.HostPort)
	<-ctx.Done()
	checker.SetRunning(false)
	logger.Info("worker stopping: running activities get worker.stop_timeout to finish", "stop_timeout", resolved.Worker.StopTimeoutDuration())
	w.Stop()
	logger.Info("worker stopped")
	return 0
}
