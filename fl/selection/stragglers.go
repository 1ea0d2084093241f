package selection

import (
	"math"
	"math/rand/v2"
)

// stragglerStream is the second word of the straggler draws' PCG seed ("Straggle"),
// so they are independent of the round's selection, which is seeded by the round.
const stragglerStream = 0x5374726167676c65

// StragglerCount is how many of k selected clients straggle at fraction s: all but
// round(k·(1−s)), as the FedProx paper's code keeps round(k·(1−s)) devices active
// (rounding half to even, as Python's round does), and never all of them, so a round
// always has a client that finishes its epochs.
func StragglerCount(k int, s float64) int {
	if k < 1 || !(s > 0) {
		return 0
	}
	active := int(math.RoundToEven(float64(k) * (1 - s)))
	return min(max(k-active, 0), k-1)
}

// Stragglers marks the stragglers among a round's selected clients, the same for the
// same seed and round whatever the strategy (so runs compare on the same devices and
// stragglers, as the paper pairs them), and how many local epochs each manages:
// uniform in 1..epochs−1, as the paper's code draws them (numpy's randint(1, E); its
// text says [1, E]). The result has one entry per selected client, in their order:
// 0 for a client that runs its full epochs. epochs < 2 leaves none a fewer.
func Stragglers(seed uint64, round int, selected []int, fraction float64, epochs int) []int {
	out := make([]int, len(selected))
	m := StragglerCount(len(selected), fraction)
	if m == 0 || epochs < 2 {
		return out
	}
	rng := rand.New(rand.NewPCG(seed^stragglerStream, uint64(round)))
	for _, i := range rng.Perm(len(selected))[:m] {
		out[i] = 1 + rng.IntN(epochs-1)
	}
	return out
}
