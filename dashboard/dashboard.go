// Package dashboard serves FedKeeper's experiment dashboard: one web page and the JSON
// it polls, read live from Temporal (visibility, the experiments' progress query and
// results, the rounds' round_progress query and records) and from the weight store
// (each global version's description and audit), priced with the config's price
// table (package billing). It only reads: it never writes to Temporal or to the
// weight store. Every request needs the worker's metrics token, as a bearer token or
// as the password of HTTP basic authentication, which a browser prompts for.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/httpauth"
	"github.com/fedkeeper/fedkeeper/loopback"
	"github.com/fedkeeper/fedkeeper/theme"
	"github.com/fedkeeper/fedkeeper/weights"
)

//go:embed static
var static embed.FS

// Server answers the dashboard's requests from one Temporal namespace.
type Server struct {
	temporal client.Client
	versions Versions
	cfg      *config.Config
	records  *recordCache
	logger   *slog.Logger
}

// Versions lists an experiment's global versions: the weight store (nil: none shown).
type Versions interface {
	ListGlobals(ctx context.Context, experiment string) ([]weights.GlobalInfo, error)
}

// New is a dashboard of cfg's namespace, read through c and the weight store v. Costs
// are priced with cfg's price table and its functions' memory settings.
func New(c client.Client, v Versions, cfg *config.Config, logger *slog.Logger) *Server {
	return &Server{temporal: c, versions: v, cfg: cfg, records: newRecordCache(), logger: logger}
}

// Handler serves the page and its API to requests bearing token.
func (s *Server) Handler(token, where string) http.Handler {
	mux := http.NewServeMux()
	page, _ := fs.Sub(static, "static")
	mux.Handle("GET /", http.FileServerFS(page))
	mux.HandleFunc("GET /theme.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write([]byte(theme.CSS()))
	})
	mux.HandleFunc("GET /api/experiments", s.listExperiments)
	mux.HandleFunc("GET /api/experiments/{id}", s.experiment)
	mux.HandleFunc("GET /api/experiments/{id}/curve", s.curve)
	return httpauth.RequireForBrowser(token, "FedKeeper dashboard", where, noStore(mux))
}

// noStore keeps browsers from caching the live figures (a reload must show now).
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
		next.ServeHTTP(w, r)
	})
}

// Serve listens on addr (a port in use falls back to a free one on the same host)
// and serves the dashboard until ctx ends. It returns the address it listens on.
func (s *Server) Serve(ctx context.Context, addr, token, where string) (string, error) {
	l, err := loopback.ListenOrFallback(addr)
	if err != nil {
		return "", fmt.Errorf("dashboard: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(token, where), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("dashboard stopped", "err", err)
		}
	}()
	return l.Addr().String(), nil
}

// Start serves the dashboard at cfg's dashboard.listen until ctx ends, behind the
// metrics token, and returns its URL and how to log in ("" for both when it is off).
// In a process that joined an embedded stack serving one, it serves nothing and
// returns the stack's.
func Start(ctx context.Context, c client.Client, cfg *config.Config, logger *slog.Logger) (url, login string, err error) {
	if cfg.Dashboard.Listen == config.MetricsOff {
		return "", "", nil
	}
	login = "any user name; password: the metrics token, " + tokenSource(cfg)
	if cfg.Dashboard.ServedAt != "" {
		return cfg.Dashboard.ServedAt, login, nil
	}
	token, err := bootstrap.MetricsToken(cfg)
	if err != nil {
		return "", "", err
	}
	store, err := bootstrap.ConnectStore(ctx, cfg)
	if err != nil {
		return "", "", fmt.Errorf("dashboard: %w", err)
	}
	addr, err := New(c, store, cfg, logger).Serve(ctx, cfg.Dashboard.Listen, token, "the dashboard wants the metrics token as password ("+login+")")
	if err != nil {
		_ = store.Close(context.Background())
		return "", "", err
	}
	go func() {
		<-ctx.Done()
		_ = store.Close(context.Background())
	}()
	return "http://" + addr + "/", login, nil
}

// tokenSource says where the metrics token is, without saying it.
func tokenSource(cfg *config.Config) string {
	if cfg.Metrics.Token != "" {
		return "metrics.token in the config"
	}
	return "in " + filepath.Join(cfg.DataDir, "metrics.token")
}
