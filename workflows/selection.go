package workflows

import (
	"math/rand/v2"
	"sort"
)

// SelectClients picks k of total clients for a round, the same way every time for the
// same seed and round (workflow code must be deterministic), in ascending order.
func SelectClients(seed uint64, round, total, k int) []int {
	if k >= total {
		all := make([]int, total)
		for i := range all {
			all[i] = i
		}
		return all
	}
	rng := rand.New(rand.NewPCG(seed, uint64(round)))
	picked := rng.Perm(total)[:k]
	sort.Ints(picked)
	return picked
}
