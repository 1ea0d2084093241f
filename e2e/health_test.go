package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
)

// checkHealthAndStop asks a worker process's health endpoints (which, like its metrics,
// want the token), then stops it with SIGTERM, as an orchestrator would, and expects a
// clean exit.
func checkHealthAndStop(ctx context.Context, t *testing.T, cfg *config.Config, addr string, worker *exec.Cmd, log *bytes.Buffer) {
	token, err := bootstrap.MetricsToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, bearer string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: %d, want 401", path, code)
		}
	}
	if code, body := get("/healthz", token); code != http.StatusOK {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz", token); code != http.StatusOK || body != "ready" {
		t.Errorf("/readyz of a running worker: %d %q", code, body)
	}

	if err := worker.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- worker.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("worker exited with %v after SIGTERM", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("worker still running two minutes after SIGTERM")
	}
	if !strings.Contains(log.String(), "worker stopped") {
		t.Errorf("the worker did not log its stop:\n%s", log.String())
	}
}
