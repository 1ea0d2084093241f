package selection

import (
	"fmt"
	"strings"
	"testing"
)

func clients(cs []Choice) string {
	ids := make([]int, len(cs))
	for i, c := range cs {
		ids[i] = c.Client
	}
	return fmt.Sprint(ids)
}

func TestRandom(t *testing.T) {
	a, b := Random(7, 3, 100, 10), Random(7, 3, 100, 10)
	if clients(a) != clients(b) || len(a) != 10 {
		t.Fatalf("%v then %v", clients(a), clients(b))
	}
	if clients(Random(7, 4, 100, 10)) == clients(a) {
		t.Error("two rounds picked the same clients")
	}
	for i := 1; i < len(a); i++ {
		if a[i].Client <= a[i-1].Client {
			t.Fatalf("not ascending: %v", clients(a))
		}
	}
	if all := Random(1, 1, 4, 9); clients(all) != "[0 1 2 3]" || all[0].Reason != "all clients" {
		t.Errorf("k >= total: %+v", all)
	}
}

func TestStatsRecord(t *testing.T) {
	var s Stats
	s = s.Record(1, true, 2)
	s = s.Record(2, true, 4) // 0.3·4 + 0.7·2 = 2.6
	if s.Invited != 2 || s.Missed != 0 || fmt.Sprintf("%.4f", s.EMASeconds) != "2.6000" {
		t.Fatalf("%+v", s)
	}
	s = s.Record(3, false, 0)
	if s.Missed != 1 || s.LastMissed != 3 || s.cooldown() != 1 || fmt.Sprintf("%.4f", s.EMASeconds) != "2.6000" {
		t.Fatalf("after a miss %+v (cooldown %d)", s, s.cooldown())
	}
	s = s.Record(4, false, 0)
	if s.cooldown() != 2 {
		t.Errorf("two misses in a row: cooldown %d, want 2", s.cooldown())
	}
	if s = s.Record(7, true, 1); s.MissStreak != 0 || s.cooldown() != 0 {
		t.Errorf("a report ends the streak: %+v", s)
	}
}

func TestStragglerAware(t *testing.T) {
	// Nobody tried yet: explore.
	first := StragglerAware(1, 1, 6, 3, 2, nil, nil)
	if len(first) != 3 || !strings.Contains(first[0].Reason, "never invited") {
		t.Fatalf("first round %+v", first)
	}

	// Everyone tried once; averages 10, 1, 2, 3, 20 and 1.5 s. Ranked 1, 5, 2 | 3, 0, 4:
	// the fast tier fills the round.
	secs := []float64{10, 1, 2, 3, 20, 1.5}
	stats := map[int]Stats{}
	for c, s := range secs {
		stats[c] = Stats{}.Record(1, true, s)
	}
	got := StragglerAware(1, 2, 6, 3, 2, stats, nil)
	if clients(got) != "[1 2 5]" {
		t.Fatalf("round 2 chose %v, want the fast tier [1 2 5]", clients(got))
	}
	if !strings.HasPrefix(got[0].Reason, "tier 1 of 2: 1.00 s") {
		t.Errorf("reason %q", got[0].Reason)
	}

	// Client 1 missed round 4: it sits out round 5 (cooldown 1), and the next fastest
	// take its place; in round 6 it is back.
	stats[1] = stats[1].Record(4, false, 0)
	if got := StragglerAware(1, 5, 6, 3, 2, stats, nil); clients(got) != "[2 3 5]" {
		t.Errorf("round 5 chose %v, want [2 3 5] without the cooling client 1", clients(got))
	}
	// Back in round 6, ranked by 1 s × (1 + 1/2) = 1.5, level with client 5.
	if got := StragglerAware(1, 6, 6, 3, 2, stats, nil); clients(got) != "[1 2 5]" {
		t.Errorf("round 6 chose %v, want [1 2 5]", clients(got))
	}
	// A cooling client still comes when the round needs everyone, and says why.
	all := StragglerAware(1, 5, 6, 6, 2, stats, nil)
	if len(all) != 6 || !strings.Contains(all[1].Reason, "cooling down") {
		t.Errorf("round 5 with k = 6: %+v", all)
	}
	// The same inputs always give the same choice (workflow code depends on it).
	if clients(StragglerAware(9, 6, 6, 3, 2, stats, nil)) != clients(StragglerAware(9, 6, 6, 3, 2, stats, nil)) {
		t.Error("not deterministic")
	}
}

// Busy clients (still running an earlier round) are left out; with none busy the
// choice is Random's.
func TestBusyClientsAreLeftOut(t *testing.T) {
	busy := map[int]bool{}
	for _, c := range Random(7, 3, 20, 5) {
		busy[c.Client] = true
	}
	if clients(RandomAvailable(7, 3, 20, 5, nil)) != clients(Random(7, 3, 20, 5)) {
		t.Error("with none busy, RandomAvailable differs from Random")
	}
	for _, pick := range [][]Choice{
		RandomAvailable(7, 3, 20, 5, busy),
		StragglerAware(7, 3, 20, 5, 2, nil, busy),
		Spec{}.Choose(7, 3, 20, 5, nil, busy),
	} {
		if len(pick) != 5 {
			t.Fatalf("picked %v, want 5", clients(pick))
		}
		for _, c := range pick {
			if busy[c.Client] {
				t.Errorf("picked busy client %d in %v", c.Client, clients(pick))
			}
		}
	}
	if got := RandomAvailable(7, 3, 6, 5, map[int]bool{0: true, 1: true, 2: true}); clients(got) != "[3 4 5]" || !strings.Contains(got[0].Reason, "3 busy") {
		t.Errorf("fewer available than wanted: %+v", got)
	}
}
