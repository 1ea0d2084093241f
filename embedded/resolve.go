package embedded

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
)

// Resolve gives the config the addresses of its embedded services: those of a stack
// already running for the data directory (see the stack command), or of one started
// here for the caller's lifetime (stop ends it). It tells the Web UI's address on out.
func Resolve(ctx context.Context, cfg *config.Config, logger *slog.Logger, out io.Writer) (*config.Config, func(), error) {
	if !discovery.Needed(cfg) {
		return cfg, func() {}, nil
	}
	if endpoints, err := discovery.Find(cfg); err == nil {
		logger.Info("joined the running embedded stack", "pid", endpoints.PID)
		if endpoints.UIURL != "" {
			fmt.Fprintln(out, UIHint(endpoints.UIURL, cfg))
		}
		return endpoints.Apply(cfg), func() {}, nil
	}
	stack, err := Start(ctx, cfg, Options{Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded stack: %w", err)
	}
	if stack.UIURL != "" {
		fmt.Fprintln(out, UIHint(stack.UIURL, cfg)+"; up while this runs, `bin/stack` keeps it up")
	}
	return stack.Endpoints.Apply(cfg), stack.Stop, nil
}

// UIHint tells where the Web UI is and how to log in to it, without the password.
func UIHint(uiURL string, cfg *config.Config) string {
	return fmt.Sprintf("Temporal Web UI: %s/namespaces/%s/workflows (any user name; password: temporal_api_key in %s)",
		uiURL, cfg.Temporal.Namespace, discovery.File(cfg.DataDir))
}
