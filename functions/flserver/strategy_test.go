package flserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/fl/fedavg"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/weights"
)

// strategyEnv is an embedded store holding global version 0 (all zeros) of a tiny MLP.
type strategyEnv struct {
	t        *testing.T
	store    *weights.Store
	uri      string
	spec     model.Spec
	manifest []model.Param
	n        int
}

func newStrategyEnv(t *testing.T) *strategyEnv {
	t.Helper()
	srv, err := mongodb.Start(context.Background(), mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	e := &strategyEnv{t: t, uri: srv.URI(), spec: model.Spec{Kind: model.MLP, Hidden: 1}}
	e.store = e.connect()
	e.manifest, _ = e.spec.Manifest()
	e.n = model.NumParams(e.manifest)
	if _, err := e.store.PutGlobal(context.Background(), weights.Global{Experiment: "e", Version: 0, Manifest: e.manifest, Params: make([]float32, e.n)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// connect opens another connection, as a restarted worker would.
func (e *strategyEnv) connect() *weights.Store {
	s, err := weights.Connect(context.Background(), weights.Options{URI: e.uri, DB: "t", Collection: "w"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func (e *strategyEnv) filled(v float32) []float32 {
	p := make([]float32, e.n)
	for i := range p {
		p[i] = v
	}
	return p
}

// round stores one update per value (client i sends value i, samples 100) and
// aggregates them into version round.
func (e *strategyEnv) round(store *weights.Store, round int, s strategy.Spec, values ...float32) (AggregateResult, []float32, error) {
	ctx := context.Background()
	clients := make([]int, len(values))
	for c, v := range values {
		clients[c] = c
		if _, err := store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: round, Client: c, BaseVersion: round - 1,
			Samples: 100, Manifest: e.manifest, Params: e.filled(v)}); err != nil {
			e.t.Fatal(err)
		}
	}
	res, err := Aggregate(ctx, store, AggregateParams{Experiment: "e", Round: round, BaseVersion: round - 1, Clients: clients,
		Model: e.spec, Strategy: s}, nil)
	if err != nil {
		return res, nil, err
	}
	g, err := store.GetGlobal(ctx, "e", round)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, g.Params, nil
}

func TestRobustStrategiesAggregate(t *testing.T) {
	// Five clients, one far off; every parameter of a client has the same value.
	values := []float32{0, 1, 2, 3, 100}
	for _, tc := range []struct {
		spec     strategy.Spec
		want     float32
		counted  string
		rejected int
	}{
		{strategy.Spec{}, 21.2, "[0 1 2 3 4]", 0}, // FedAvg: (0+1+2+3+100)/5
		{strategy.Spec{Name: strategy.FedMedian}, 2, "[0 1 2 3 4]", 0},
		{strategy.Spec{Name: strategy.TrimmedMeanName, TrimBeta: 0.2}, 2, "[0 1 2 3 4]", 0}, // mean(1, 2, 3)
		// Krum tolerating one: the model nearest its neighbours, client 1; the others
		// are listed as left out.
		{strategy.Spec{Name: strategy.Krum, Byzantine: 1}, 1, "[1]", 4},
		{strategy.Spec{Name: strategy.MultiKrumName, Byzantine: 1}, 1.5, "[0 1 2 3]", 1},
	} {
		t.Run(tc.spec.Kind(), func(t *testing.T) {
			e := newStrategyEnv(t)
			res, got, err := e.round(e.store, 1, tc.spec, values...)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tc.want || got[e.n-1] != tc.want {
				t.Errorf("global v1 holds %v, want %v", got[0], tc.want)
			}
			if fmt.Sprint(res.Counted) != tc.counted || len(res.Rejected) != tc.rejected || res.Updates != len(res.Counted) {
				t.Errorf("counted %v, rejected %v", res.Counted, res.Rejected)
			}
		})
	}
	// Krum needs more than 2f+2 models: three cannot tolerate one.
	e := newStrategyEnv(t)
	if _, _, err := e.round(e.store, 1, strategy.Spec{Name: strategy.Krum, Byzantine: 1}, 1, 2, 3); !errors.Is(err, ErrBadStrategy) {
		t.Errorf("Krum over three models: %v", err)
	}
}

// FedAvgM's momentum lives in the store beside each version: a second round run by a
// fresh connection (a restarted worker, or an experiment continued as new) steps from
// it, and a retried aggregation returns the stored version.
func TestServerOptimizerStateSurvivesRestarts(t *testing.T) {
	e := newStrategyEnv(t)
	spec := strategy.Spec{Name: strategy.FedAvgM, ServerLR: 1, Beta1: 0.9}
	// v0 = 0; the clients average 1: m = 1, v1 = 1.
	if _, got, err := e.round(e.store, 1, spec, 1, 1); err != nil || got[0] != 1 {
		t.Fatalf("v1 %v (%v), want 1", got, err)
	}
	// From v1 the clients average 1.5: Δ = 0.5, m = 0.9·1 + 0.5 = 1.4, v2 = 2.4.
	restarted := e.connect()
	_, got, err := e.round(restarted, 2, spec, 1.5, 1.5)
	if err != nil || fmt.Sprintf("%.4f", got[0]) != "2.4000" {
		t.Fatalf("v2 %v (%v), want 2.4", got[0], err)
	}
	again, err := Aggregate(context.Background(), restarted, AggregateParams{Experiment: "e", Round: 2, BaseVersion: 1,
		Clients: []int{0, 1}, Model: e.spec, Strategy: spec}, nil)
	if err != nil || !again.Existing {
		t.Fatalf("retry %+v (%v)", again, err)
	}
	st, err := restarted.GetServerState(context.Background(), "e", 2)
	if err != nil || st.Rounds != 2 || fmt.Sprintf("%.4f", st.M[0]) != "1.4000" {
		t.Errorf("stored state %+v (%v)", st, err)
	}
}

// An adaptive optimiser moves the model by about η per round whatever the size of the
// change, and keeps its second moment too.
func TestFedAdamAggregates(t *testing.T) {
	e := newStrategyEnv(t)
	spec := strategy.Spec{Name: strategy.FedAdam, ServerLR: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}
	_, got, err := e.round(e.store, 1, spec, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	// m = 0.1, v = 0.99·τ² + 0.01: x = 0.1·0.1/(√v + τ) = 0.099005…
	if fmt.Sprintf("%.6f", got[0]) != "0.099005" {
		t.Errorf("v1 %v, want 0.099005", got[0])
	}
	if st, err := e.store.GetServerState(context.Background(), "e", 1); err != nil || len(st.V) != e.n {
		t.Errorf("second moment not stored: %+v %v", st, err)
	}
}

// An aggregation that stored its version but stopped before deleting the round's
// updates cleans them up when it is retried, and the sealed round refuses updates that
// arrive after its aggregation began.
func TestAggregationRetryCleansUpAndSealedRoundRefuses(t *testing.T) {
	e := newStrategyEnv(t)
	ctx := context.Background()
	for c := range 2 {
		if _, err := e.store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: 1, Client: c, Attempt: 1, Samples: 100,
			Manifest: e.manifest, Params: e.filled(1)}); err != nil {
			t.Fatal(err)
		}
	}
	// The first attempt stored v1 and died before its clean-up.
	if _, err := e.store.PutGlobal(ctx, weights.Global{Experiment: "e", Version: 1, Manifest: e.manifest, Params: e.filled(1),
		Updates: 2, Samples: 200, Clients: []int{0, 1}}); err != nil {
		t.Fatal(err)
	}
	res, err := Aggregate(ctx, e.store, AggregateParams{Experiment: "e", Round: 1, Clients: []int{0, 1}, Model: e.spec}, nil)
	if err != nil || !res.Existing {
		t.Fatalf("retry: %+v %v", res, err)
	}
	for c := range 2 {
		if _, err := e.store.GetUpdate(ctx, "e", 1, c); !errors.Is(err, weights.ErrNotFound) {
			t.Errorf("client %d's update left behind by the retried aggregation: %v", c, err)
		}
	}
	// Round 2: the aggregation seals it.
	if _, err := e.store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: 2, Client: 0, Attempt: 1, BaseVersion: 1, Samples: 100,
		Manifest: e.manifest, Params: e.filled(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Aggregate(ctx, e.store, AggregateParams{Experiment: "e", Round: 2, BaseVersion: 1, Clients: []int{0}, Model: e.spec}, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := e.store.RoundState(ctx, "e", 2); err != nil || !st.Sealed {
		t.Errorf("round 2 after its aggregation: %+v %v", st, err)
	}
}

// The batches' running sums are merged instead of reading their updates again, each
// only by the digest its batch reported and only when it holds counted clients of the
// round's base version, none twice. A partial another try of a batch stored over the
// reported one, a lost one, one holding a client not counted or one merged already,
// and one from another base version leave their clients to be read. Either way the
// version is the average of the stored updates, each counted once: on the worker that
// stored the partials (from memory) and on another (from the store).
func TestPartialSumsAreMergedOnlyByTheirReportedDigest(t *testing.T) {
	for _, aggregator := range []string{"the worker that stored the partials", "another worker"} {
		t.Run(aggregator, func(t *testing.T) {
			ctx := context.Background()
			e := newStrategyEnv(t)
			clients := []int{0, 1, 2, 3, 4, 5}
			for _, c := range clients {
				if _, err := e.store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: 1, Client: c, Attempt: 1, BaseVersion: 0,
					Samples: 10 * (c + 1), Manifest: e.manifest, Params: e.filled(float32(c))}); err != nil {
					t.Fatal(err)
				}
			}
			// value is what each client's update holds in a partial: its own, but for
			// the partials that must not be merged, whose wrong sums would show.
			partial := func(key string, value func(c int) float32, base int, cs ...int) weights.Partial {
				acc := fedavg.NewAccumulator(e.n)
				p := weights.Partial{Experiment: "e", Round: 1, Key: key}
				for _, c := range cs {
					if err := acc.Add(e.filled(value(c)), 10*(c+1)); err != nil {
						t.Fatal(err)
					}
					p.Refs = append(p.Refs, weights.UpdateRef{Round: 1, Client: c, BaseVersion: base, Samples: 10 * (c + 1), Attempt: 1})
				}
				s := acc.Partial()
				p.Sum, p.Weight, p.Samples = s.Sum, s.Weight, s.Samples
				return p
			}
			own := func(c int) float32 { return float32(c) }
			wrong := func(int) float32 { return 100 }
			put := func(p weights.Partial) weights.PartialRef {
				digest, err := e.store.PutPartial(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				return weights.PartialRef{Key: p.Key, Digest: digest}
			}
			good := put(partial("b0", own, 0, 0, 1))
			reported := put(partial("b2", own, 0, 2, 3))
			if aggregator == "another worker" {
				// A stopped try of batch b2 went on and stored its own sum over the
				// reported one; the worker that reported b2 kept its own.
				put(partial("b2", wrong, 0, 2, 3))
			}
			refs := []weights.PartialRef{good, reported, {Key: "b4 (lost)", Digest: "d"},
				put(partial("b5 (holds client 9, not counted)", wrong, 0, 5, 9)),
				put(partial("b1 (client 1 merged already)", wrong, 0, 1, 4)),
				put(partial("b4 (another base version)", wrong, 7, 4, 5))}
			store := e.store
			if aggregator == "another worker" {
				store = e.connect()
			}
			res, err := Aggregate(ctx, store, AggregateParams{Experiment: "e", Round: 1, BaseVersion: 0, Clients: clients, Model: e.spec,
				Partials: refs}, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantMerged := 4
			if aggregator == "another worker" {
				wantMerged = 2 // b2 as stored is not the one reported
			}
			if res.FromPartials != wantMerged || res.Updates != 6 || fmt.Sprint(res.Counted) != fmt.Sprint(clients) {
				t.Errorf("%+v: want 6 updates counted, %d from partials", res, wantMerged)
			}
			g, err := e.store.GetGlobal(ctx, "e", 1)
			if err != nil {
				t.Fatal(err)
			}
			// Σ c·10(c+1) / Σ 10(c+1) over c = 0..5 = 700/210.
			if want := float32(700.0 / 210.0); math.Abs(float64(g.Params[0]-want)) > 1e-5 {
				t.Errorf("v1 = %v, want %v", g.Params[0], want)
			}
		})
	}
}
