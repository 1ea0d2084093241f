package partition

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// minPerClient is the fewest examples a Dirichlet client may get; a draw that leaves a
// client with fewer is drawn again, as is usual for this scheme.
const minPerClient = 10

// dirichlet is the label skew of Hsu et al. (2019): the split uses as many examples as
// the other schemes (NumClients × ShardsPerClient × ShardSize, drawn uniformly), and
// every label's examples are divided among the clients in proportions drawn from
// Dirichlet(Alpha, …, Alpha). Client sizes differ; small Alpha concentrates each label
// on few clients.
func dirichlet(labels []uint8, spec Spec, rng *rand.Rand) ([][]int, error) {
	if !(spec.Alpha > 0) || math.IsInf(spec.Alpha, 0) {
		return nil, fmt.Errorf("partition: dirichlet needs a positive alpha, got %v", spec.Alpha)
	}
	total := spec.NumClients * spec.ShardsPerClient * spec.ShardSize
	if total > len(labels) {
		return nil, fmt.Errorf("partition: %d clients x %d examples exceed the %d examples available", spec.NumClients, spec.ShardsPerClient*spec.ShardSize, len(labels))
	}
	if total < spec.NumClients*minPerClient {
		return nil, fmt.Errorf("partition: %d examples cannot give %d clients %d each", total, spec.NumClients, minPerClient)
	}
	byLabel := map[uint8][]int{}
	var order []uint8
	for _, i := range rng.Perm(len(labels))[:total] {
		l := labels[i]
		if _, ok := byLabel[l]; !ok {
			order = append(order, l)
		}
		byLabel[l] = append(byLabel[l], i)
	}
	// Labels in a fixed order, so the draw does not depend on map iteration.
	slices.Sort(order)
	for attempt := 0; attempt < 1000; attempt++ {
		out := make([][]int, spec.NumClients)
		for _, l := range order {
			idx := byLabel[l]
			cut := 0
			shares := drawDirichlet(rng, spec.NumClients, spec.Alpha)
			acc := 0.0
			for c, p := range shares {
				acc += p
				end := int(math.Round(acc * float64(len(idx))))
				if c == len(shares)-1 {
					end = len(idx)
				}
				out[c] = append(out[c], idx[cut:end]...)
				cut = end
			}
		}
		ok := true
		for _, part := range out {
			if len(part) < minPerClient {
				ok = false
				break
			}
		}
		if ok {
			return out, nil
		}
	}
	return nil, fmt.Errorf("partition: no Dirichlet(%v) draw in 1000 gave each of %d clients %d examples; raise alpha or the examples per client", spec.Alpha, spec.NumClients, minPerClient)
}

// drawDirichlet draws proportions from Dirichlet(alpha, …, alpha) over k outcomes as
// normalised Gamma(alpha) draws.
func drawDirichlet(rng *rand.Rand, k int, alpha float64) []float64 {
	out := make([]float64, k)
	sum := 0.0
	for i := range out {
		out[i] = gamma(rng, alpha)
		sum += out[i]
	}
	if sum == 0 {
		// Every draw underflowed (tiny alpha): one outcome takes all.
		out[rng.IntN(k)] = 1
		return out
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// gamma draws from Gamma(shape, 1) by Marsaglia and Tsang's method; a shape below one
// is raised by one and scaled back with U^(1/shape).
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
