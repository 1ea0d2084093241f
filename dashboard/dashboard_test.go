package dashboard

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/workflows"
)

func testServer(t *testing.T) *Server {
	t.Helper()
	cfg, err := config.Parse([]byte("temporal:\n  web_ui_url: http://127.0.0.1:8233\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return New(nil, nil, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// The page, its script, its stylesheets and its API all want the token; with it the
// page's files are served, uncached, under a policy that runs only their own scripts.
func TestHandlerServesThePageBehindTheToken(t *testing.T) {
	h := testServer(t).Handler("s3cret", "the token is in metrics.token")
	for _, path := range []string{"/", "/app.js", "/style.css", "/theme.css", "/api/experiments"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "metrics.token") {
			t.Errorf("%s without the token: %d %q", path, w.Code, w.Body.String())
		}
	}
	for path, want := range map[string]string{"/": "<title>FedKeeper dashboard</title>", "/app.js": "function route()", "/theme.css": "--openwhisk: #2563eb;", "/style.css": ".card"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.SetBasicAuth("anyone", "s3cret")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: %d, body lacks %q", path, w.Code, want)
		}
		if w.Header().Get("Cache-Control") != "no-store" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: headers %v", path, w.Header())
		}
	}
}

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// An experiment that continued as new lists once: the first run's start, the latest
// run's state, memo and search attributes.
func TestMergeFoldsContinuedRuns(t *testing.T) {
	s := testServer(t)
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	run := func(runID string, at time.Time, st enumspb.WorkflowExecutionStatus, round int, acc float64) *workflowpb.WorkflowExecutionInfo {
		return &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: "mnist-20261201", RunId: runID},
			Status:    st, StartTime: timestamppb.New(at), CloseTime: timestamppb.New(at.Add(time.Minute)),
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{"config": payload(t, "mnist"), "model": payload(t, "mlp"), "max_rounds": payload(t, 300)}},
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
				workflows.RoundAttr.GetName(): payload(t, round), workflows.AccuracyAttr.GetName(): payload(t, acc)}},
		}
	}
	byID := map[string]*Experiment{}
	// Visibility lists the newest first.
	s.merge(byID, run("b", start.Add(time.Hour), enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, 150, 0.95))
	s.merge(byID, run("a", start, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, 100, 0.9))
	e := byID["mnist-20261201"]
	want := Experiment{ID: "mnist-20261201", RunID: "b", Config: "mnist", Model: "mlp", Status: "running", Start: start,
		Rounds: 150, MaxRounds: 300, Accuracy: 0.95, WebUI: "http://127.0.0.1:8233/namespaces/default/workflows/mnist-20261201"}
	if len(byID) != 1 || *e != want {
		t.Errorf("merged %+v, want %+v", *e, want)
	}
}

// Each round's row carries the experiment's time at its end.
func TestElapsed(t *testing.T) {
	rows := elapsed(Experiment{}, []workflows.RoundSummary{{Round: 1, TotalSeconds: 2.5}, {Round: 2, TotalSeconds: 1}, {Round: 3, TotalSeconds: 0.5}})
	for i, want := range []float64{2.5, 3.5, 4} {
		if rows[i].ElapsedSeconds != want || rows[i].Round != i+1 {
			t.Errorf("row %d: %+v", i, rows[i])
		}
	}
}
