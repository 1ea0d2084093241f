package workflows

import (
	"github.com/fedkeeper/fedkeeper/fl/selection"
)

// SelectClients picks k of total clients for a round at random, the same way every time
// for the same seed and round (workflow code must be deterministic), in ascending
// order: the choice of every round that carries no choices of its own.
func SelectClients(seed uint64, round, total, k int) []int {
	return selection.Clients(selection.Random(seed, round, total, k))
}

// recordRound updates the clients' stats with a finished round: a selected client
// reported if its update arrived, counted or rejected by the aggregation (a robust
// strategy's verdict is not the client's lateness). A simulated straggler the round did
// not invoke is left out: the seed, not the client, made it one.
func recordRound(stats map[int]selection.Stats, round int, res RoundResult) map[int]selection.Stats {
	if stats == nil {
		stats = map[int]selection.Stats{}
	}
	rejected := map[int]bool{}
	for _, r := range res.Rejected {
		rejected[r.Client] = true
	}
	for _, o := range res.Outcomes {
		if o.Straggler && len(o.Runs) == 0 {
			continue
		}
		stats[o.Client] = stats[o.Client].Record(round, o.Counted || rejected[o.Client], o.Seconds)
	}
	return stats
}

// mostInvited is how many rounds the most-invited client was selected for.
func mostInvited(stats map[int]selection.Stats) int {
	most := 0
	for _, s := range stats {
		most = max(most, s.Invited)
	}
	return most
}
