package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/faas"
)

// pendingLambda fakes Lambda's control plane the way it behaves after a change: the
// function reports states in turn (one per GetFunction, the last one then for good),
// so the adapter is seen waiting for the state it needs.
type pendingLambda struct {
	exists bool
	states []state

	mu    sync.Mutex
	calls []string
}

type state struct{ State, LastUpdateStatus string }

func (p *pendingLambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions"))
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && p.exists:
		w.Header().Set("X-Amzn-ErrorType", "ResourceConflictException")
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"message":"Function already exist: fl_client"}`))
		return
	case r.Method == http.MethodGet:
		s := p.states[0]
		if len(p.states) > 1 {
			p.states = p.states[1:]
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Configuration": map[string]string{"FunctionName": "fl_client",
			"State": s.State, "LastUpdateStatus": s.LastUpdateStatus}})
		return
	}
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusCreated)
	}
	_, _ = w.Write([]byte(`{"FunctionName":"fl_client"}`))
}

func (p *pendingLambda) seen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.calls, ", ")
}

// Deploy returns only once Lambda reports the function ready: Active after a creation,
// the update Successful after each of the two updates of an existing function; a
// function that fails to become ready is an error, not a deployment.
func TestDeployWaitsUntilLambdaSaysReady(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exists bool
		states []state
		want   string // the calls, in order
		fails  bool
	}{
		{"created, Pending then Active", false, []state{{"Pending", "InProgress"}, {"Pending", "InProgress"}, {"Active", "Successful"}},
			"POST , GET /fl_client, GET /fl_client, GET /fl_client", false},
		{"updated: code, wait, configuration, wait", true, []state{{"Active", "InProgress"}, {"Active", "Successful"}, {"Active", "InProgress"}, {"Active", "Successful"}},
			"POST , PUT /fl_client/code, GET /fl_client, GET /fl_client, PUT /fl_client/configuration, GET /fl_client, GET /fl_client", false},
		{"creation failed", false, []state{{"Pending", "InProgress"}, {"Failed", "Failed"}}, "POST , GET /fl_client, GET /fl_client", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &pendingLambda{exists: tc.exists, states: tc.states}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			c := newClient(t, srv.URL, func(o *Options) { o.ReadyWait = 20 * time.Second })
			err := c.Deploy(context.Background(), faas.Function{Name: "fl_client", Code: []byte("zip"), Kind: "provided.al2023"})
			if got := fake.seen(); got != tc.want {
				t.Errorf("calls %q, want %q", got, tc.want)
			}
			if tc.fails != (err != nil) || (err != nil && !errors.Is(err, faas.ErrUnavailable)) {
				t.Errorf("deploy: %v, want failure %v", err, tc.fails)
			}
		})
	}
}
