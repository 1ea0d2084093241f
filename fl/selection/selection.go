// Package selection chooses which clients train in a round. Random picks k of N as
// FedKeeper and FedAvg did; StragglerAware follows FedLesScan (Elzohairy et al., 2022):
// clients never tried go first, the rest are ranked by how long they took (an
// exponential moving average of their training runs) and how often they missed a
// round, grouped into tiers of similar speed and taken from the fastest tier on; a
// client that just missed a round sits out a cooldown that doubles with each miss.
// Every choice is a pure function of its inputs, so workflow code can call it.
package selection

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Policies a Spec may name.
const (
	// PolicyRandom picks k of N at random, seeded by the round (the zero Spec).
	PolicyRandom = "random"
	// PolicyStragglerAware is StragglerAware.
	PolicyStragglerAware = "straggler_aware"
)

// DefaultTiers is how many speed tiers StragglerAware forms when a Spec gives none.
const DefaultTiers = 3

// Spec is a selection policy and its setting, as an experiment carries it.
type Spec struct {
	Policy string `json:"policy,omitempty"`
	// Tiers: see StragglerAware (0: DefaultTiers).
	Tiers int `json:"tiers,omitempty"`
}

// Validate checks the policy's name and setting.
func (s Spec) Validate() error {
	switch s.Policy {
	case "", PolicyRandom, PolicyStragglerAware:
	default:
		return fmt.Errorf("selection: unknown policy %q (want %s or %s)", s.Policy, PolicyRandom, PolicyStragglerAware)
	}
	if s.Tiers < 0 {
		return fmt.Errorf("selection: tiers must not be negative, got %d", s.Tiers)
	}
	return nil
}

// NeedsStats says whether the policy chooses from the clients' past rounds, so the
// experiment must keep their Stats.
func (s Spec) NeedsStats() bool { return s.Policy == PolicyStragglerAware }

// Choose picks up to k of total clients for a round under the policy, leaving out the
// busy ones; stats are the clients' past rounds (only StragglerAware reads them).
func (s Spec) Choose(seed uint64, round, total, k int, stats map[int]Stats, busy map[int]bool) []Choice {
	if s.Policy == PolicyStragglerAware {
		return StragglerAware(seed, round, total, k, cmp.Or(s.Tiers, DefaultTiers), stats, busy)
	}
	return RandomAvailable(seed, round, total, k, busy)
}

// Clients lists the chosen clients, in the choices' order.
func Clients(choices []Choice) []int {
	out := make([]int, len(choices))
	for i, c := range choices {
		out[i] = c.Client
	}
	return out
}

// Choice is one selected client and why it was chosen.
type Choice struct {
	Client int    `json:"client"`
	Reason string `json:"reason"`
}

// Random picks k of total clients, the same for the same seed and round, in ascending
// order (FedKeeper's original selection).
func Random(seed uint64, round, total, k int) []Choice {
	return RandomAvailable(seed, round, total, k, nil)
}

// RandomAvailable is Random leaving out the busy clients (still running an earlier
// semi-asynchronous round); with none busy it picks exactly what Random does.
func RandomAvailable(seed uint64, round, total, k int, busy map[int]bool) []Choice {
	if len(busy) == 0 && k >= total {
		out := make([]Choice, total)
		for i := range out {
			out[i] = Choice{Client: i, Reason: "all clients"}
		}
		return out
	}
	reason := fmt.Sprintf("random %d of %d", k, total)
	if len(busy) > 0 {
		reason = fmt.Sprintf("random %d of %d (%d busy)", k, total, len(busy))
	}
	rng := rand.New(rand.NewPCG(seed, uint64(round)))
	var picked []int
	for _, c := range rng.Perm(total) {
		if len(picked) == k {
			break
		}
		if !busy[c] {
			picked = append(picked, c)
		}
	}
	sort.Ints(picked)
	out := make([]Choice, len(picked))
	for i, c := range picked {
		out[i] = Choice{Client: c, Reason: reason}
	}
	return out
}

// Stats is what the keeper remembers of one client for straggler-aware selection.
type Stats struct {
	// Invited counts the rounds the client was selected for; Missed those it did not
	// report in (failed, lost or dropped at the deadline).
	Invited int `json:"invited"`
	Missed  int `json:"missed"`
	// EMASeconds is the moving average of its successful training runs (0: none yet).
	EMASeconds float64 `json:"ema_seconds"`
	// LastMissed is the last round it missed (0: never).
	LastMissed int `json:"last_missed,omitempty"`
	// MissStreak counts consecutive missed rounds; it sets the cooldown.
	MissStreak int `json:"miss_streak,omitempty"`
}

// EMAWeight is the weight of a new run in a client's moving average.
const EMAWeight = 0.3

// Record updates a client's stats after a round it was invited to: reported says its
// update counted, seconds how long its successful run took.
func (s Stats) Record(round int, reported bool, seconds float64) Stats {
	s.Invited++
	if !reported {
		s.Missed++
		s.LastMissed = round
		s.MissStreak++
		return s
	}
	s.MissStreak = 0
	if s.EMASeconds == 0 {
		s.EMASeconds = seconds
	} else {
		s.EMASeconds = EMAWeight*seconds + (1-EMAWeight)*s.EMASeconds
	}
	return s
}

// cooldown is how many rounds a client sits out after its latest miss: 1, 2, 4, …
// rounds for 1, 2, 3, … misses in a row, at most 16.
func (s Stats) cooldown() int {
	if s.MissStreak == 0 {
		return 0
	}
	return min(16, 1<<(s.MissStreak-1))
}

// StragglerAware picks k of total clients for round from their stats (missing entries
// are clients never invited), leaving out the busy ones. Tiers splits the ranked
// clients into that many groups of similar speed (at least 1).
func StragglerAware(seed uint64, round, total, k, tiers int, stats map[int]Stats, busy map[int]bool) []Choice {
	k = min(k, total)
	tiers = max(tiers, 1)
	rng := rand.New(rand.NewPCG(seed, uint64(round)))
	var fresh, known, cooling []int
	for c := range total {
		s, ok := stats[c]
		switch {
		case busy[c]:
			continue
		case !ok || s.Invited == 0:
			fresh = append(fresh, c)
		case s.LastMissed > 0 && round-s.LastMissed <= s.cooldown():
			cooling = append(cooling, c)
		default:
			known = append(known, c)
		}
	}
	var out []Choice
	take := func(cs []int, reason func(c int) string) {
		for _, c := range cs {
			if len(out) == k {
				return
			}
			out = append(out, Choice{Client: c, Reason: reason(c)})
		}
	}
	// Clients never tried first, in a seeded order: their speed is unknown.
	rng.Shuffle(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
	take(fresh, func(int) string { return "never invited: exploring" })

	// The rest by score: average run time, raised by the share of rounds missed.
	score := func(c int) float64 {
		s := stats[c]
		t := s.EMASeconds
		if t == 0 {
			t = math.MaxFloat64 / 4 // invited but never reported: slowest
		}
		return t * (1 + float64(s.Missed)/float64(s.Invited))
	}
	sort.SliceStable(known, func(a, b int) bool {
		if score(known[a]) != score(known[b]) {
			return score(known[a]) < score(known[b])
		}
		return known[a] < known[b]
	})
	size := (len(known) + tiers - 1) / max(tiers, 1)
	for t := 0; t*size < len(known) && len(out) < k; t++ {
		tier := append([]int(nil), known[t*size:min((t+1)*size, len(known))]...)
		// Within a tier, seeded at random, so equally fast clients share the work.
		rng.Shuffle(len(tier), func(i, j int) { tier[i], tier[j] = tier[j], tier[i] })
		take(tier, func(c int) string {
			s := stats[c]
			return fmt.Sprintf("tier %d of %d: %.2f s on average, missed %d of %d", t+1, tiers, s.EMASeconds, s.Missed, s.Invited)
		})
	}
	// Only when nobody else is left do cooling clients come back, soonest-ending first.
	sort.SliceStable(cooling, func(a, b int) bool {
		return stats[cooling[a]].LastMissed+stats[cooling[a]].cooldown() < stats[cooling[b]].LastMissed+stats[cooling[b]].cooldown()
	})
	take(cooling, func(c int) string {
		return fmt.Sprintf("cooling down after %d missed rounds in a row, taken for want of others", stats[c].MissStreak)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out
}
