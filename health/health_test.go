package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadiness(t *testing.T) {
	var frontendDown error
	c := New(func(context.Context) error { return frontendDown })
	for _, tc := range []struct {
		name     string
		running  bool
		frontend error
		want     int
		says     string
	}{
		{"starting", false, nil, http.StatusServiceUnavailable, "not running"},
		{"running", true, nil, http.StatusOK, "ready"},
		{"frontend down", true, errors.New("connection refused"), http.StatusServiceUnavailable, "connection refused"},
		{"stopping", false, nil, http.StatusServiceUnavailable, "not running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.SetRunning(tc.running)
			frontendDown = tc.frontend
			w := httptest.NewRecorder()
			c.ReadyHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.says) {
				t.Errorf("%d %q, want %d saying %q", w.Code, w.Body.String(), tc.want, tc.says)
			}
			// Liveness does not depend on readiness.
			w = httptest.NewRecorder()
			c.Live().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if w.Code != http.StatusOK {
				t.Errorf("healthz %d", w.Code)
			}
		})
	}
}
