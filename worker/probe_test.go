package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
)

func TestProbeReady(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/readyz":
			http.NotFound(w, r)
		case r.Header.Get("Authorization") != "Bearer t0ken":
			w.WriteHeader(http.StatusUnauthorized)
		case !ready:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	cfg := &config.Config{Metrics: config.Metrics{Listen: addr, Token: "t0ken"}}
	if code := probeReady(cfg); code != 0 {
		t.Errorf("ready worker: exit %d", code)
	}
	ready = false
	if code := probeReady(cfg); code != 1 {
		t.Errorf("unready worker: exit %d", code)
	}
	cfg.Metrics.Token = "wrong"
	ready = true
	if code := probeReady(cfg); code != 1 {
		t.Errorf("wrong token: exit %d", code)
	}
	cfg.Metrics.Listen = config.MetricsOff
	if code := probeReady(cfg); code != 1 {
		t.Errorf("metrics off: exit %d", code)
	}
}
