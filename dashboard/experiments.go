package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/fedkeeper/fedkeeper/workflows"
)

// Experiment is one experiment as the list shows it.
type Experiment struct {
	ID        string    `json:"id"`
	RunID     string    `json:"run_id"`
	Config    string    `json:"config"`
	Model     string    `json:"model"`
	Status    string    `json:"status"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end,omitzero"`
	Rounds    int       `json:"rounds"`
	MaxRounds int       `json:"max_rounds"`
	Accuracy  float64   `json:"accuracy"`
	// WebUI is the experiment's page in the Temporal Web UI ("" when unknown).
	WebUI string `json:"web_ui,omitempty"`
}

// maxListed bounds the experiments the list reads from visibility.
const maxListed = 500

// experiments lists the namespace's experiments, newest first: one line per
// experiment, however many runs continue-as-new gave it.
func (s *Server) experiments(ctx context.Context) ([]Experiment, error) {
	byID := map[string]*Experiment{}
	var token []byte
	for len(byID) < maxListed {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.cfg.Temporal.Namespace, PageSize: 100, NextPageToken: token,
			Query: fmt.Sprintf("WorkflowType = %q", workflows.ExperimentWorkflowName),
		})
		if err != nil {
			return nil, fmt.Errorf("list experiments: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			s.merge(byID, info)
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	out := make([]Experiment, 0, len(byID))
	for _, e := range byID {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Experiment) int { return b.Start.Compare(a.Start) })
	return out, nil
}

// merge folds one workflow run into its experiment's line: the first run's start, the
// latest run's state.
func (s *Server) merge(byID map[string]*Experiment, info *workflowpb.WorkflowExecutionInfo) {
	id := info.GetExecution().GetWorkflowId()
	run := Experiment{ID: id, RunID: info.GetExecution().GetRunId(), Status: status(info.GetStatus()),
		Start: info.GetStartTime().AsTime(), WebUI: s.webUI(id)}
	if info.GetCloseTime() != nil && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		run.End = info.GetCloseTime().AsTime()
	}
	fields := info.GetMemo().GetFields()
	decode(fields["config"], &run.Config)
	decode(fields["model"], &run.Model)
	decode(fields["max_rounds"], &run.MaxRounds)
	attrs := info.GetSearchAttributes().GetIndexedFields()
	decode(attrs[workflows.RoundAttr.GetName()], &run.Rounds)
	decode(attrs[workflows.AccuracyAttr.GetName()], &run.Accuracy)
	e, ok := byID[id]
	if !ok {
		byID[id] = &run
		return
	}
	first := e.Start
	if run.Start.After(e.Start) {
		*e = run
	}
	e.Start = first
	if run.Start.Before(first) {
		e.Start = run.Start
	}
}

// status is a workflow status as the page shows it: running, completed, failed, …
func status(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	}
	return "unknown"
}

// decode reads a memo or search-attribute payload, leaving v as it was when absent.
func decode(p *commonpb.Payload, v any) {
	if p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, v)
	}
}

// webUI is an experiment's page in the Temporal Web UI.
func (s *Server) webUI(id string) string {
	base := s.cfg.Temporal.WebUIURL
	if base == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", base, url.PathEscape(s.cfg.Temporal.Namespace), url.PathEscape(id))
}

func (s *Server) listExperiments(w http.ResponseWriter, r *http.Request) {
	list, err := s.experiments(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]any{"experiments": list})
}

// fail answers a request the dashboard could not read Temporal for.
func (s *Server) fail(w http.ResponseWriter, err error) {
	s.logger.Warn("dashboard request failed", "err", err)
	http.Error(w, err.Error(), http.StatusBadGateway)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
