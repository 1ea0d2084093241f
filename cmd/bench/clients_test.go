package main

import (
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/bench"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// clientRound is a round record in which function's client ran once, for ms
// milliseconds, training for train seconds, after a failed attempt.
func clientRound(round int, function string, cold bool, ms int, train float64) workflows.RoundResult {
	start := time.Date(2026, 12, 1, 10, 0, round, 0, time.UTC)
	run := activities.ClientRun{Success: true, Samples: clientSamples, ColdStart: cold, TrainSeconds: train,
		Start: start, End: start.Add(time.Duration(ms) * time.Millisecond), WaitSeconds: 0.004}
	if cold {
		run.InitSeconds = 1.2
	}
	failed := activities.ClientRun{Success: false, Start: start, End: start}
	rec := workflows.RoundResult{Outcomes: []workflows.ClientOutcome{
		{Client: 9, Function: "other", Counted: true, Runs: []activities.ClientRun{{Success: true, Samples: 1}}},
		{Client: 1, Function: function, Counted: true, Runs: []activities.ClientRun{failed, run}},
	}}
	rec.Round = round
	return rec
}

func TestClientCost(t *testing.T) {
	records := []workflows.RoundResult{
		clientRound(1, torchClient, true, 1800, 0.5),
		clientRound(2, torchClient, false, 450, 0.42),
		clientRound(3, torchClient, false, 400, 0.39), // the faster warm round
	}
	procs := []bench.Process{
		{PID: 1, Args: []string{"/d/actions/guest/fl_client/1/exec"}},
		{PID: 2, Args: []string{"/usr/bin/python3", "/d/actions/guest/pytorch_client/1/__main__.py"},
			Status: bench.ProcStatus{PeakRSS: 352 * bench.MiB}, CPU: 2 * time.Second},
	}
	got, err := clientCost(records, procs, torchClient)
	if err != nil {
		t.Fatal(err)
	}
	want := bench.ClientCost{Function: torchClient, Samples: 600, Epochs: 10,
		Train: 390 * time.Millisecond, WarmRun: 400 * time.Millisecond,
		ColdStart: 1804 * time.Millisecond, ColdRun: 1800 * time.Millisecond, Init: 1200 * time.Millisecond, ColdTrain: 500 * time.Millisecond,
		Process: bench.ProcStatus{PeakRSS: 352 * bench.MiB}, CPU: 2 * time.Second, Active: 2650 * time.Millisecond}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestClientCostRefuses(t *testing.T) {
	cold := clientRound(1, goClient, true, 800, 0.5)
	warm := clientRound(2, goClient, false, 600, 0.5)
	one := []bench.Process{{Args: []string{"/d/actions/guest/fl_client/1/exec"}}}
	short := clientRound(2, goClient, false, 600, 0.5)
	short.Outcomes[1].Runs[1].Samples = 300
	uncounted := clientRound(2, goClient, false, 600, 0.5)
	uncounted.Outcomes[1].Counted = false
	tests := []struct {
		name    string
		records []workflows.RoundResult
		procs   []bench.Process
		want    string
	}{
		{"a warm first round", []workflows.RoundResult{warm, warm}, one, "cold=false"},
		{"a cold later round (the container was not reused)", []workflows.RoundResult{cold, cold}, one, "round 1: fl_client's activation was cold=true"},
		{"another share size", []workflows.RoundResult{cold, short}, one, "trained 300 samples"},
		{"not counted", []workflows.RoundResult{cold, uncounted}, one, "no successful run"},
		{"no process", []workflows.RoundResult{cold, warm}, nil, "0 live processes serve fl_client"},
		{"two processes", []workflows.RoundResult{cold, warm}, append(one, one...), "2 live processes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := clientCost(tc.records, tc.procs, goClient)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
