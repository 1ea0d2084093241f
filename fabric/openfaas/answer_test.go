package openfaas

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/httpproc"
)

// Every way a call can end reads as the gateway answers it.
func TestAnswer(t *testing.T) {
	fn := httpproc.Response{Status: 200, Body: []byte("hi")}
	tests := []struct {
		name       string
		outcome    core.Outcome[httpproc.Response]
		wantStatus int // the gateway's own; 0 passes the function's on
		wantBody   string
	}{
		{"an answer", core.Outcome[httpproc.Response]{Response: fn}, 0, "hi"},
		{"an injected error answers", core.Outcome[httpproc.Response]{Response: httpproc.InjectedFailure(), Fault: faults.Error},
			0, `{"error":"an injected fault: the function failed"}`},
		{"no replica started", core.Outcome[httpproc.Response]{Err: &core.StartError{Err: httpproc.ErrExited}},
			http.StatusBadGateway, "Can't reach service for: f"},
		{"no replica started in time", core.Outcome[httpproc.Response]{Err: &core.StartError{Err: httpproc.ErrTimeout}},
			http.StatusBadGateway, "Can't reach service for: f"},
		{"a run past its limit", core.Outcome[httpproc.Response]{Err: httpproc.ErrTimeout},
			http.StatusGatewayTimeout, "Function timed out after 3s"},
		{"an injected hang cut short", core.Outcome[httpproc.Response]{Err: fmt.Errorf("injected hang: %w", context.Canceled), Fault: faults.Hang},
			http.StatusGatewayTimeout, "Function timed out after 3s"},
		{"an injected crash", core.Outcome[httpproc.Response]{Err: fmt.Errorf("injected crash: %w", httpproc.ErrExited), Fault: faults.Crash},
			http.StatusBadGateway, "Can't reach service for: f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, status := answer(tc.outcome, "f", 3*time.Second)
			if status != tc.wantStatus || string(resp.Body) != tc.wantBody {
				t.Errorf("answer %d %q, want %d %q", status, resp.Body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}
