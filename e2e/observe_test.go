package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/plots"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// checkSearchAttributes asks Temporal's visibility store, as the Web UI does, for the
// experiment's rounds by their search attributes, and reads their memo.
func checkSearchAttributes(ctx context.Context, t *testing.T, c client.Client, cfg *config.Config, outcome runner.Outcome) {
	id := outcome.Result.Experiment
	list := func(query string) []*workflowExecution {
		// Visibility is written after the workflow closes; give it a few seconds (for
		// a query that should match something).
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: cfg.Temporal.Namespace, Query: query})
			if err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			if len(resp.Executions) > 0 || time.Now().After(deadline) {
				var out []*workflowExecution
				for _, e := range resp.Executions {
					out = append(out, &workflowExecution{e.GetExecution().GetWorkflowId(), e.GetSearchAttributes().GetIndexedFields(), e.GetMemo().GetFields()})
				}
				return out
			}
			select {
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	round2 := outcome.Result.Rounds[1]
	got := list(fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND %s = 2", workflows.RoundWorkflowName,
		workflows.ExperimentAttr.GetName(), id, workflows.RoundAttr.GetName()))
	if len(got) != 1 || got[0].id != workflows.RoundWorkflowID(id, 2) {
		t.Fatalf("rounds filtered by experiment and round 2: %v", got)
	}
	var accuracy float64
	var retries int64
	if err := converter.GetDefaultDataConverter().FromPayload(got[0].attrs[workflows.AccuracyAttr.GetName()], &accuracy); err != nil || accuracy != round2.Accuracy {
		t.Errorf("round 2 accuracy attribute %v (%v), result %v", accuracy, err, round2.Accuracy)
	}
	if err := converter.GetDefaultDataConverter().FromPayload(got[0].attrs[workflows.RetriesAttr.GetName()], &retries); err != nil || retries != int64(round2.Retries) {
		t.Errorf("round 2 retries attribute %v (%v), result %v", retries, err, round2.Retries)
	}
	var memoAccuracy float64
	if err := converter.GetDefaultDataConverter().FromPayload(got[0].memo["accuracy"], &memoAccuracy); err != nil || memoAccuracy != round2.Accuracy {
		t.Errorf("round 2 memo accuracy %v (%v)", memoAccuracy, err)
	}
	// A filter on the metric finds the experiment itself with its last round's figures.
	final := outcome.Result.FinalAccuracy
	got = list(fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND %s >= %v", workflows.ExperimentWorkflowName,
		workflows.ExperimentAttr.GetName(), id, workflows.AccuracyAttr.GetName(), final-0.0001))
	if len(got) != 1 || got[0].id != id {
		t.Fatalf("experiment filtered by accuracy: %v", got)
	}
	var round int64
	if err := converter.GetDefaultDataConverter().FromPayload(got[0].attrs[workflows.RoundAttr.GetName()], &round); err != nil || round != int64(len(outcome.Result.Rounds)) {
		t.Errorf("experiment's round attribute %v (%v)", round, err)
	}
	// Everything is visible by now, so a filter that matches nothing answers at once.
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: cfg.Temporal.Namespace,
		Query: fmt.Sprintf("%s = '%s' AND %s > 1.5", workflows.ExperimentAttr.GetName(), id, workflows.AccuracyAttr.GetName())})
	if err != nil || len(resp.Executions) != 0 {
		t.Errorf("an impossible accuracy matched %d executions (%v)", len(resp.GetExecutions()), err)
	}
}

type workflowExecution struct {
	id    string
	attrs map[string]*commonpb.Payload
	memo  map[string]*commonpb.Payload
}

func (w *workflowExecution) String() string { return w.id }

// checkClientsAndPlots reads clients.csv against the round records and decodes every
// figure.
func checkClientsAndPlots(ctx context.Context, t *testing.T, c client.Client, outcome runner.Outcome) {
	f, err := os.Open(filepath.Join(outcome.ResultsDir, "clients.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(report.ClientsHeader, ",") {
		t.Fatalf("clients.csv header %v", rows[0])
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	wantRuns, wantCounted := 0, 0
	activations := map[string]bool{}
	for _, r := range outcome.Result.Rounds {
		full, err := runner.RoundRecord(ctx, c, outcome.Result.Experiment, r.Round)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range full.Outcomes {
			wantRuns += len(o.Runs)
			for _, run := range o.Runs {
				activations[fmt.Sprintf("%d/%d/%s/%s", r.Round, o.Client, o.Platform, run.ActivationID)] = true
			}
		}
		wantCounted += r.Counted
	}
	counted := 0
	platforms := map[string]bool{}
	for _, row := range rows[1:] {
		key := fmt.Sprintf("%s/%s/%s/%s", row[col["round"]], row[col["client"]], row[col["platform"]], row[col["activation_id"]])
		if !activations[key] {
			t.Errorf("clients.csv line %v matches no activation of the round records", row)
		}
		if row[col["counted"]] == "true" {
			counted++
			if row[col["status"]] != "success" || row[col["duration_s"]] == "" || row[col["samples"]] == "0" {
				t.Errorf("counted activation without its figures: %v", row)
			}
		}
		platforms[row[col["platform"]]] = true
	}
	if len(rows)-1 != wantRuns || counted != wantCounted {
		t.Errorf("clients.csv has %d activations (%d counted), the round records %d (%d)", len(rows)-1, counted, wantRuns, wantCounted)
	}
	if !platforms["openwhisk"] || !platforms["google"] || !platforms["openfaas"] || !platforms["aws"] {
		t.Errorf("platforms in clients.csv: %v", platforms)
	}
	for _, name := range plots.Names {
		if name == "function_durations" {
			// One client function: no functions to compare, no figure.
			if _, err := os.Stat(filepath.Join(outcome.ResultsDir, name+".png")); err == nil {
				t.Errorf("%s drawn for an experiment of one client function", name)
			}
			continue
		}
		f, err := os.Open(filepath.Join(outcome.ResultsDir, name+".png"))
		if err != nil {
			t.Error(err)
			continue
		}
		_, err = png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s.png: %v", name, err)
		}
		svg, err := os.ReadFile(filepath.Join(outcome.ResultsDir, name+".svg"))
		if err != nil || !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s.svg: %v", name, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(outcome.ResultsDir, "client_durations.svg"))
	for _, platform := range []string{"openwhisk", "google", "openfaas", "aws"} {
		if !strings.Contains(string(svg), platform+" (") {
			t.Errorf("client_durations.svg has no box for %s", platform)
		}
	}
}
