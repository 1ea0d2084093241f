// Package strategy holds the server side of federated learning beyond FedAvg: robust
// aggregation of client models (coordinate-wise median, trimmed mean, Krum and
// Multi-Krum) and server optimisers that treat the averaged change of a round as a
// pseudo-gradient (FedAvgM, FedAdam, FedYogi, FedAdagrad, after Reddi et al.,
// "Adaptive Federated Optimization", 2021). Everything works on flat float32 vectors;
// sums run in float64.
package strategy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// checkModels refuses an empty set and vectors of different lengths.
func checkModels(models [][]float32) (int, error) {
	if len(models) == 0 {
		return 0, errors.New("strategy: no client models")
	}
	n := len(models[0])
	for i, m := range models {
		if len(m) != n {
			return 0, fmt.Errorf("strategy: client model %d has %d values, the first has %d", i, len(m), n)
		}
	}
	return n, nil
}

// Median is the coordinate-wise median of the client models (FedMedian, Yin et al.
// 2018): each parameter is the middle of the clients' values, or the mean of the two
// middle ones for an even count. Unweighted: a client's sample count is its own claim.
func Median(models [][]float32) ([]float32, error) {
	return coordinateWise(models, func(col []float32) float64 {
		k := len(col)
		if k%2 == 1 {
			return float64(col[k/2])
		}
		return (float64(col[k/2-1]) + float64(col[k/2])) / 2
	})
}

// TrimmedMean drops, for each parameter, the lowest and the highest beta fraction of the
// clients' values (rounded down) and averages the rest (Yin et al. 2018). beta is in
// [0, 0.5); with beta 0 it is the plain mean.
func TrimmedMean(models [][]float32, beta float64) ([]float32, error) {
	if !(beta >= 0 && beta < 0.5) {
		return nil, fmt.Errorf("strategy: trimmed mean needs 0 <= beta < 0.5, got %v", beta)
	}
	trim := int(math.Floor(beta * float64(len(models))))
	return coordinateWise(models, func(col []float32) float64 {
		kept := col[trim : len(col)-trim]
		sum := 0.0
		for _, v := range kept {
			sum += float64(v)
		}
		return sum / float64(len(kept))
	})
}

// coordinateWise sorts each parameter's values across the clients and reduces them.
func coordinateWise(models [][]float32, reduce func(sorted []float32) float64) ([]float32, error) {
	n, err := checkModels(models)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	col := make([]float32, len(models))
	for j := range n {
		for i, m := range models {
			col[i] = m[j]
		}
		slices.Sort(col)
		out[j] = float32(reduce(col))
	}
	return out, nil
}

// Krum picks the client model closest to its neighbours (Blanchard et al. 2017): each
// model's score is the sum of squared distances to its n-f-2 nearest others, where f
// is the number of Byzantine clients to tolerate; the lowest score wins. MultiKrum
// averages the m best-scoring models (weighted by samples), m = 1 being Krum. It needs
// n > 2f+2. It returns the chosen models' indexes in score order.
func MultiKrum(models [][]float32, samples []int, f, m int) ([]float32, []int, error) {
	n, err := checkModels(models)
	if err != nil {
		return nil, nil, err
	}
	k := len(models)
	if len(samples) != k {
		return nil, nil, fmt.Errorf("strategy: %d sample counts for %d models", len(samples), k)
	}
	if f < 0 || k <= 2*f+2 {
		return nil, nil, fmt.Errorf("strategy: Krum tolerating %d Byzantine clients needs more than %d models, got %d", f, 2*f+2, k)
	}
	if m < 1 || m > k-f {
		return nil, nil, fmt.Errorf("strategy: Multi-Krum selects between 1 and n-f = %d models, got %d", k-f, m)
	}
	dist := make([][]float64, k)
	for i := range dist {
		dist[i] = make([]float64, k)
	}
	for i := range k {
		for j := i + 1; j < k; j++ {
			d := 0.0
			for p := range n {
				diff := float64(models[i][p]) - float64(models[j][p])
				d += diff * diff
			}
			dist[i][j], dist[j][i] = d, d
		}
	}
	scores := make([]float64, k)
	neighbours := k - f - 2
	for i := range k {
		others := make([]float64, 0, k-1)
		for j := range k {
			if j != i {
				others = append(others, dist[i][j])
			}
		}
		sort.Float64s(others)
		for _, d := range others[:neighbours] {
			scores[i] += d
		}
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	// Stable on equal scores, so the choice does not depend on sort internals.
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] < scores[order[b]] })
	chosen := order[:m]
	sum := make([]float64, n)
	weight := 0.0
	for _, i := range chosen {
		w := float64(samples[i])
		if w <= 0 {
			return nil, nil, fmt.Errorf("strategy: client model %d trained on %d samples", i, samples[i])
		}
		for p, v := range models[i] {
			sum[p] += w * float64(v)
		}
		weight += w
	}
	out := make([]float32, n)
	for p, s := range sum {
		out[p] = float32(s / weight)
	}
	return out, slices.Clone(chosen), nil
}
