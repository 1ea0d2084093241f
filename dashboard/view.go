package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// View is everything the page shows of one experiment.
type View struct {
	Experiment Experiment `json:"experiment"`
	Rounds     []RoundRow `json:"rounds"`
	// Running is the round in progress, nil when none is.
	Running *Running `json:"running,omitempty"`
	// Activations are every client attempt of the finished rounds, for the timeline.
	Activations []Activation `json:"activations"`
	// Clients are the last finished round's selected clients, with why they were.
	Clients  []ClientRow `json:"clients"`
	Late     []LateRow   `json:"late"`
	Rejected []LateRow   `json:"rejected"`
	Bill     report.Bill `json:"bill"`
	// Versions are the experiment's global versions as the weight store describes
	// them; VersionsError says why they are missing.
	Versions      []Version `json:"versions"`
	VersionsError string    `json:"versions_error,omitempty"`
}

// Version is a global version as the weight store describes it.
type Version struct {
	Version  int       `json:"version"`
	Updates  int       `json:"updates"`
	Samples  int       `json:"samples"`
	Counted  int       `json:"counted"`
	Accuracy *float64  `json:"accuracy,omitempty"`
	SHA256   string    `json:"sha256"`
	Created  time.Time `json:"created"`
}

// RoundRow is a finished round's summary and its cost.
type RoundRow struct {
	workflows.RoundSummary
	CostUSD   float64            `json:"cost_usd"`
	Platforms map[string]float64 `json:"cost_by_platform"`
	// Elapsed is the experiment's time when the round ended, from its start.
	ElapsedSeconds float64 `json:"elapsed_s"`
}

// Running is the round in progress: its phase and its clients' states per platform.
type Running struct {
	workflows.RoundProgress
	Platforms map[string]map[string]int `json:"platforms"`
}

// Activation is one client attempt, a bar of the timeline.
type Activation struct {
	Round    int       `json:"round"`
	Client   int       `json:"client"`
	Attempt  int       `json:"attempt"`
	Platform string    `json:"platform"`
	Status   string    `json:"status"`
	Success  bool      `json:"success"`
	Counted  bool      `json:"counted"`
	Cold     bool      `json:"cold"`
	Start    time.Time `json:"start,omitzero"`
	End      time.Time `json:"end,omitzero"`
	CostUSD  float64   `json:"cost_usd"`
}

// ClientRow is a selected client of a round.
type ClientRow struct {
	Round    int     `json:"round"`
	Client   int     `json:"client"`
	Platform string  `json:"platform"`
	Function string  `json:"function"`
	Attempts int     `json:"attempts"`
	Counted  bool    `json:"counted"`
	Seconds  float64 `json:"seconds"`
	Reason   string  `json:"reason"`
	Error    string  `json:"error,omitempty"`
}

// LateRow is a late or rejected update.
type LateRow struct {
	Round  int    `json:"round"`
	Client int    `json:"client"`
	Reason string `json:"reason"`
}

func (s *Server) experiment(w http.ResponseWriter, r *http.Request) {
	v, err := s.view(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, v)
}

// curve is the part of a view the compare page overlays: the rounds.
func (s *Server) curve(w http.ResponseWriter, r *http.Request) {
	e, rounds, err := s.progress(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, map[string]any{"experiment": e, "rounds": elapsed(e, rounds)})
}

// view reads one experiment's state from Temporal and prices it.
func (s *Server) view(ctx context.Context, id string) (View, error) {
	e, rounds, err := s.progress(ctx, id)
	if err != nil {
		return View{}, err
	}
	v := View{Experiment: e, Rounds: []RoundRow{}, Activations: []Activation{}, Clients: []ClientRow{}, Late: []LateRow{}, Rejected: []LateRow{}}
	records, err := s.roundRecords(ctx, id, rounds)
	if err != nil {
		return View{}, err
	}
	pricer, err := billing.NewPricer(s.cfg, s.model(ctx, id))
	if err != nil {
		return View{}, err
	}
	v.Bill = report.NewBill(pricer, records, s.cfg.Stop.TargetAccuracy)
	for _, row := range elapsed(e, rounds) {
		rb := v.Bill.Round(row.Round)
		row.CostUSD, row.Platforms = rb.Total.USD, map[string]float64{}
		for platform, c := range rb.Platforms {
			row.Platforms[platform] = c.USD
		}
		v.Rounds = append(v.Rounds, row)
	}
	for _, rec := range records {
		v.addRecord(pricer, rec)
	}
	if len(records) > 0 {
		v.Clients = clientRows(records[len(records)-1])
	}
	if e.Status == "running" {
		v.Running = s.running(ctx, id, len(rounds)+1)
	}
	v.Versions, v.VersionsError = s.globalVersions(ctx, id)
	return v, nil
}

// globalVersions lists the experiment's versions from the weight store; a store that
// cannot answer costs the page its versions, not the rest.
func (s *Server) globalVersions(ctx context.Context, id string) ([]Version, string) {
	out := []Version{}
	if s.versions == nil {
		return out, "no weight store configured"
	}
	infos, err := s.versions.ListGlobals(ctx, id)
	if err != nil {
		s.logger.Warn("dashboard: the weight store did not answer", "experiment", id, "err", err)
		return out, err.Error()
	}
	for _, g := range infos {
		v := Version{Version: g.Version, Updates: g.Updates, Samples: g.Samples, Counted: len(g.Counted), SHA256: g.Checksum, Created: g.Created}
		if g.Metrics != nil {
			v.Accuracy = &g.Metrics.Accuracy
		}
		out = append(out, v)
	}
	return out, ""
}

// progress is an experiment's line and its finished rounds: the result of a finished
// experiment, the progress query's answer for a running one.
func (s *Server) progress(ctx context.Context, id string) (Experiment, []workflows.RoundSummary, error) {
	d, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return Experiment{}, nil, fmt.Errorf("experiment %s: %w", id, err)
	}
	byID := map[string]*Experiment{}
	s.merge(byID, d.GetWorkflowExecutionInfo())
	e := *byID[id]
	if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		var res workflows.ExperimentResult
		if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			return e, nil, fmt.Errorf("experiment %s: result: %w", id, err)
		}
		e.Rounds = len(res.Rounds)
		return e, res.Rounds, nil
	}
	value, err := s.temporal.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return e, nil, fmt.Errorf("experiment %s: progress: %w", id, err)
	}
	var p workflows.Progress
	if err := value.Get(&p); err != nil {
		return e, nil, fmt.Errorf("experiment %s: progress: %w", id, err)
	}
	e.Rounds, e.MaxRounds = len(p.Rounds), p.MaxRounds
	return e, p.Rounds, nil
}

// elapsed gives each round the experiment's time at its end.
func elapsed(e Experiment, rounds []workflows.RoundSummary) []RoundRow {
	rows := make([]RoundRow, 0, len(rounds))
	total := 0.0
	for _, r := range rounds {
		total += r.TotalSeconds
		rows = append(rows, RoundRow{RoundSummary: r, ElapsedSeconds: total})
	}
	return rows
}

// roundRecords reads the finished rounds' full records; a round whose workflow still
// runs (a semi-asynchronous round's last clients) is left out until it ends.
func (s *Server) roundRecords(ctx context.Context, id string, rounds []workflows.RoundSummary) ([]workflows.RoundResult, error) {
	out := make([]workflows.RoundResult, 0, len(rounds))
	for _, r := range rounds {
		rec, err := s.records.get(ctx, s.temporal, id, r.Round)
		if errors.Is(err, errRoundRunning) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// model is the experiment's model, from its workflow's input; the config's when the
// history cannot say.
func (s *Server) model(ctx context.Context, id string) arch.Spec {
	if m, ok := s.records.model(ctx, s.temporal, id); ok {
		return m
	}
	return s.cfg.Scenarios.FederatedLearning.DataSampling.ModelSpec()
}

// addRecord adds a finished round's activations and refused updates.
func (v *View) addRecord(p billing.Pricer, rec workflows.RoundResult) {
	for _, o := range rec.Outcomes {
		if o.Late {
			v.Late = append(v.Late, LateRow{Round: rec.Round, Client: o.Client, Reason: o.Error})
		}
		for i, run := range o.Runs {
			u, c := run.Priced(p, o.Platform, o.Function)
			v.Activations = append(v.Activations, Activation{Round: rec.Round, Client: o.Client, Attempt: i + 1, Platform: u.Platform,
				Status: run.Status, Success: run.Success, Counted: o.Counted && run.Success && i == len(o.Runs)-1,
				Cold: run.ColdStart, Start: run.Start, End: run.End, CostUSD: c.USD})
		}
	}
	for _, rj := range rec.Rejected {
		round := rec.Round
		if rj.Round != 0 {
			round = rj.Round
		}
		v.Rejected = append(v.Rejected, LateRow{Round: round, Client: rj.Client, Reason: rj.Reason})
	}
}

// clientRows are a round's selected clients, with why each was selected.
func clientRows(rec workflows.RoundResult) []ClientRow {
	rows := make([]ClientRow, 0, len(rec.Outcomes))
	for _, o := range rec.Outcomes {
		rows = append(rows, ClientRow{Round: rec.Round, Client: o.Client, Platform: o.Platform, Function: o.Function,
			Attempts: o.Attempts, Counted: o.Counted, Seconds: o.Seconds, Reason: o.Reason, Error: o.Error})
	}
	return rows
}

// running is the round in progress as its round_progress query tells it, its clients
// counted per platform (from the record once an attempt returned, else from where the
// config places them); nil when no round answers.
func (s *Server) running(ctx context.Context, id string, round int) *Running {
	value, err := s.temporal.QueryWorkflow(ctx, workflows.RoundWorkflowID(id, round), "", workflows.RoundProgressQuery)
	if err != nil {
		return nil
	}
	var live workflows.RoundProgress
	if value.Get(&live) != nil {
		return nil
	}
	placements := s.cfg.ClientPlacements()
	run := &Running{RoundProgress: live, Platforms: map[string]map[string]int{}}
	for _, c := range live.Clients {
		platform := c.Platform
		if platform == "" && c.Client < len(placements) {
			platform = string(placements[c.Client].Platform)
		}
		if run.Platforms[platform] == nil {
			run.Platforms[platform] = map[string]int{}
		}
		run.Platforms[platform]["selected"]++
		run.Platforms[platform][c.State]++
	}
	return run
}
