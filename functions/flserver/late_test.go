package flserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/weights"
)

// Semi-asynchronous rounds: a straggler's update stored after its round was aggregated
// is folded into the next version, its change applied to the current model and weighed
// down by its staleness; one too stale is dropped; everything consumed is deleted, a
// retry included.
func TestLateUpdatesAreFoldedByStaleness(t *testing.T) {
	e := newStrategyEnv(t)
	ctx := context.Background()
	late := &LateFolding{Exponent: 1, MaxStaleness: 1}
	put := func(round, client, base int, v float32, acceptLate bool) error {
		_, err := e.store.PutUpdate(ctx, weights.Update{Experiment: "e", Round: round, Client: client, BaseVersion: base,
			Samples: 100, Manifest: e.manifest, Params: e.filled(v), AcceptLate: acceptLate})
		return err
	}
	aggregate := func(round int, clients ...int) (AggregateResult, float32) {
		t.Helper()
		res, err := Aggregate(ctx, e.store, AggregateParams{Experiment: "e", Round: round, BaseVersion: round - 1,
			Clients: clients, Model: e.spec, Late: late}, nil)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		g, err := e.store.GetGlobal(ctx, "e", round)
		if err != nil {
			t.Fatal(err)
		}
		return res, g.Params[0]
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Round 1 aggregates clients 0 and 1 (value 1): v1 = 1.
	must(put(1, 0, 0, 1, false))
	must(put(1, 1, 0, 1, false))
	if _, v1 := aggregate(1, 0, 1); v1 != 1 {
		t.Fatalf("v1 = %v, want 1", v1)
	}
	// Clients 2 and 3 of round 1 finish afterwards: refused as in a synchronous round,
	// stored when late updates are accepted.
	if err := put(1, 2, 0, 4, false); !errors.Is(err, weights.ErrRoundClosed) {
		t.Fatalf("a late update without AcceptLate: %v", err)
	}
	must(put(1, 2, 0, 4, true))

	// Round 2: clients 0 and 1 send 2 from v1; client 2's update is one version stale,
	// so its change (4 − v0) lands on v1 as 5, at weight 100·(1+1)^−1 = 50:
	// (100·2 + 100·2 + 50·5) / 250 = 2.6.
	must(put(2, 0, 1, 2, false))
	must(put(2, 1, 1, 2, false))
	res, v2 := aggregate(2, 0, 1)
	if math.Abs(float64(v2)-2.6) > 1e-5 || res.Samples != 300 || res.Updates != 3 || fmt.Sprint(res.Counted) != "[0 1]" {
		t.Fatalf("v2 = %v, result %+v; want 2.6 from 300 samples", v2, res)
	}
	if len(res.Stale) != 1 || res.Stale[0] != (StaleUpdate{Round: 1, Client: 2, Staleness: 1, Weight: 50}) {
		t.Errorf("stale %+v", res.Stale)
	}
	if pending, err := e.store.PendingUpdates(ctx, "e", 3); err != nil || len(pending) != 0 {
		t.Errorf("after round 2, pending %v (%v); the folded update should be gone", pending, err)
	}

	// Round 3 finds client 3 of round 1 (two versions stale: dropped) and client 4 of
	// round 2 (one stale: (9 − v1) on v2 = 10.6 at weight 50) beside client 0's 3:
	// (100·3 + 50·10.6) / 150 = 5.5333.
	must(put(1, 3, 0, 7, true))
	must(put(2, 4, 1, 9, true))
	must(put(3, 0, 2, 3, false))
	res, v3 := aggregate(3, 0)
	if math.Abs(float64(v3)-830.0/150) > 1e-4 || res.Samples != 200 {
		t.Fatalf("v3 = %v, result %+v; want 5.5333 from 200 samples", v3, res)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Client != 3 || res.Rejected[0].Round != 1 || !strings.Contains(res.Rejected[0].Reason, "2 versions stale") {
		t.Errorf("rejected %+v, want client 3 of round 1 as too stale", res.Rejected)
	}
	// A retry changes nothing and leaves nothing behind.
	again, err := Aggregate(ctx, e.store, AggregateParams{Experiment: "e", Round: 3, BaseVersion: 2, Clients: []int{0}, Model: e.spec, Late: late}, nil)
	if err != nil || !again.Existing {
		t.Fatalf("retry %+v (%v)", again, err)
	}
	if pending, err := e.store.PendingUpdates(ctx, "e", 4); err != nil || len(pending) != 0 {
		t.Errorf("after round 3, pending %v (%v)", pending, err)
	}
	info, err := e.store.GlobalInfo(ctx, "e", 3)
	if err != nil || len(info.Late) != 2 {
		t.Errorf("v3 records %v as consumed late updates (%v), want two", info.Late, err)
	}
	// A replay of a consumed update, late or counted, is refused: folding it into the
	// next version would count it twice.
	for _, replay := range []struct{ round, client, base int }{{1, 2, 0}, {2, 4, 1}, {3, 0, 2}} {
		if err := put(replay.round, replay.client, replay.base, 1, true); !errors.Is(err, weights.ErrRoundClosed) {
			t.Errorf("replayed update of client %d, round %d: %v", replay.client, replay.round, err)
		}
	}
	if pending, err := e.store.PendingUpdates(ctx, "e", 4); err != nil || len(pending) != 0 {
		t.Errorf("after the replays, pending %v (%v)", pending, err)
	}
}
