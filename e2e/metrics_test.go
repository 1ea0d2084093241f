package e2e

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// metricsAddrIn finds the metrics address a worker process logged.
func metricsAddrIn(t *testing.T, log string) string {
	m := regexp.MustCompile(`metrics=http://([0-9.:]+)/metrics`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the worker logged no metrics address:\n%s", log)
	}
	return m[1]
}

// checkMetrics scrapes every worker and checks that, summed, the metrics agree with the
// experiment's record: the rounds, each finished activation by platform and status, and
// the bytes of the global models written.
func checkMetrics(ctx context.Context, t *testing.T, c client.Client, cfg *config.Config, outcome runner.Outcome, addrs []string) {
	token, err := bootstrap.MetricsToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum := map[string]float64{}
	for _, addr := range addrs {
		for _, bearer := range []string{"", "wrong"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with token %q: status %d, want 401", addr, bearer, resp.StatusCode)
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var parser expfmt.TextParser
		families, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		for name, family := range families {
			for _, m := range family.GetMetric() {
				key := name
				for _, l := range m.GetLabel() {
					key += "|" + l.GetName() + "=" + l.GetValue()
				}
				sum[key] += value(m)
			}
		}
		for _, name := range []string{"fedkeeper_activation_duration_seconds", "go_goroutines"} {
			if _, ok := families[name]; !ok {
				t.Errorf("%s serves no %s", addr, name)
			}
		}
	}

	runs := map[string]float64{}
	invocations := 0.0
	var records []workflows.RoundResult
	for _, r := range outcome.Result.Rounds {
		full, err := runner.RoundRecord(ctx, c, outcome.Result.Experiment, r.Round)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, full)
		for _, o := range full.Outcomes {
			for _, run := range o.Runs {
				runs["fedkeeper_activations_total|platform="+o.Platform+"|status="+run.Status]++
				invocations++
			}
		}
	}
	for key, want := range runs {
		if sum[key] != want {
			t.Errorf("%s = %v, the round records say %v", key, sum[key], want)
		}
	}
	if got := sum["fedkeeper_rounds_total"]; got != float64(len(outcome.Result.Rounds)) {
		t.Errorf("fedkeeper_rounds_total = %v over the workers, want %d", got, len(outcome.Result.Rounds))
	}
	accepted := 0.0
	for key, v := range sum {
		if regexp.MustCompile(`^fedkeeper_invocations_total\|platform=\w+\|result=accepted$`).MatchString(key) {
			accepted += v
		}
	}
	if accepted != invocations {
		t.Errorf("accepted invocations %v, activations in the records %v", accepted, invocations)
	}
	checkBillMetrics(t, cfg, outcome, records, sum)
	manifest, err := bootstrap.Experiment(cfg, outcome.Result.Experiment).Model.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	// The bytes the workers really moved: the server's steps run as functions, so the
	// workers store only the two relayed edge clients' updates each round, after
	// sending each its global model and receiving its update. They read each round's
	// version to evaluate it and the round's starting version to relay it, at most once
	// per use; a worker that reads the version it read last is served from its cache
	// and reads nothing (the evaluator of v1 relaying v1), so the fewest reads are one
	// per version the rounds touched, v0 to the last.
	rounds, model := float64(len(outcome.Result.Rounds)), float64(4*model.NumParams(manifest))
	edge := float64(cfg.Scenarios.FederatedLearning.ClientsInfo.EdgeClientsCount)
	for _, direction := range []string{"write", "sent", "received"} {
		if got, want := sum["fedkeeper_weight_bytes_total|direction="+direction], rounds*edge*model; got != want {
			t.Errorf("weight bytes %s %v, want %v (%v edge clients' models a round)", direction, got, want, edge)
		}
	}
	if got := sum["fedkeeper_weight_bytes_total|direction=read"]; got < (rounds+1)*model || got > 3*rounds*model {
		t.Errorf("weight bytes read %v, want between %v and %v", got, (rounds+1)*model, 3*rounds*model)
	}
}

// value reads a counter or gauge; for a histogram, its count of observations.
func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// checkBillMetrics: the workers' bill counters, summed, equal summary.json's bill of
// the runs the workers saw finish, platform by platform (summary.json also bills the
// attempts that ended in an error without a record, which no worker saw finish).
func checkBillMetrics(t *testing.T, cfg *config.Config, outcome runner.Outcome, records []workflows.RoundResult, sum map[string]float64) {
	t.Helper()
	finished := make([]workflows.RoundResult, len(records))
	for i, r := range records {
		finished[i] = r
		finished[i].Outcomes = nil
		for _, o := range r.Outcomes {
			o.Runs = slices.DeleteFunc(slices.Clone(o.Runs), func(run activities.ClientRun) bool { return run.Start.IsZero() })
			finished[i].Outcomes = append(finished[i].Outcomes, o)
		}
	}
	pricer, err := billing.NewPricer(cfg, bootstrap.Experiment(cfg, outcome.Result.Experiment).Model)
	if err != nil {
		t.Fatal(err)
	}
	want := report.NewBill(pricer, finished, 0)
	if outcome.Summary.Bill == nil || outcome.Summary.Bill.Total.USD < want.Total.USD || want.Total.USD <= 0 {
		t.Fatalf("summary bill %+v, finished runs' %+v", outcome.Summary.Bill, want.Total)
	}
	for platform, c := range want.Platforms {
		got := sum["fedkeeper_bill_usd_total|platform="+platform]
		if math.Abs(got-c.USD) > 1e-9+1e-6*c.USD {
			t.Errorf("fedkeeper_bill_usd_total{platform=%s} = %.9f over the workers, the records' bill says %.9f", platform, got, c.USD)
		}
		if gb := sum["fedkeeper_billed_gb_seconds_total|platform="+platform]; math.Abs(gb-c.GBSeconds) > 1e-6 {
			t.Errorf("billed GB-s on %s %v, the records say %v", platform, gb, c.GBSeconds)
		}
	}
}
