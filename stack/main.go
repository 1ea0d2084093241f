// Command stack runs the embedded stack on its own: `stack -config config.yaml` brings
// up what the config leaves embedded (Temporal and its Web UI, the MongoDB-compatible
// store, the local FaaS fabric) and keeps it up until interrupted. Starters and workers
// using the same config (and data_dir) join it, and the Web UI stays up between
// experiments.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/dashboard"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "config.yaml", "experiment config file")
	jsonLogs := flag.Bool("json-logs", false, "write logs as JSON")
	flag.Parse()
	cfg, logger, _, err := bootstrap.Setup(*configPath, *jsonLogs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if !discovery.Needed(cfg) {
		fmt.Fprintln(os.Stderr, "stack: the config embeds nothing: Temporal, MongoDB and every OpenWhisk cluster have addresses")
		return 2
	}
	if e, err := discovery.Find(cfg); err == nil {
		fmt.Fprintf(os.Stderr, "stack: a stack for this data_dir already runs (pid %d)\n", e.PID)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := embedded.Start(ctx, cfg, embedded.Options{Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		return 1
	}
	defer s.Stop()
	if s.UIURL != "" {
		fmt.Println(embedded.UIHint(s.UIURL, cfg))
	}
	if s.TemporalHostPort != "" {
		fmt.Printf("Temporal frontend: %s\n", s.TemporalHostPort)
	}
	if s.MongoURI != "" {
		fmt.Printf("MongoDB: %s\n", s.MongoURI)
	}
	for name, ow := range s.OpenWhisk {
		fmt.Printf("OpenWhisk cluster %s: %s\n", name, ow.APIHost)
	}
	if err := serveDashboard(ctx, s, cfg, logger); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		return 1
	}
	fmt.Println("running; Ctrl-C stops the stack")
	<-ctx.Done()
	return 0
}

// serveDashboard serves the experiment dashboard from this process for as long as the
// stack runs, and announces it to the processes that join the stack.
func serveDashboard(ctx context.Context, s *embedded.Stack, cfg *config.Config, logger *slog.Logger) error {
	resolved := s.Endpoints.Apply(cfg)
	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	url, login, err := dashboard.Start(ctx, c, resolved, logger)
	if err != nil || url == "" {
		return err
	}
	fmt.Printf("Dashboard: %s (%s)\n", url, login)
	return s.AnnounceDashboard(url)
}
