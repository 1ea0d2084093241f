// Package fedavg averages client models weighted by their number of training examples
// (McMahan et al.'s FederatedAveraging), accumulating in float64 so the result does not
// depend on the order the updates arrive in beyond float rounding of the final cast.
package fedavg

import (
	"errors"
	"fmt"
	"math"
)

// Accumulator sums weighted updates one at a time, so a caller can stream updates
// from storage without holding them all in memory.
type Accumulator struct {
	sum     []float64
	weight  float64
	samples int
	count   int
	// vector folds four values at a time (AVX2), with the scalar loop's bits: a round
	// of 1,000 MLP updates folds 400 million values.
	vector bool
}

// NewAccumulator prepares averaging of vectors of the given length.
func NewAccumulator(size int) *Accumulator {
	return &Accumulator{sum: make([]float64, size), vector: vectorAdd()}
}

// nonFinite is the index of params' first NaN or infinite value, or −1.
func (a *Accumulator) nonFinite(params []float32) int {
	head := 0
	if a.vector {
		if head = len(params) &^ 7; head > 0 {
			if i := firstNonFinite(&params[0], head); i < head {
				return i
			}
		}
	}
	for i := head; i < len(params); i++ {
		// An all-ones exponent is what makes a float32 NaN or infinite.
		if math.Float32bits(params[i])&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// Add folds in one client's parameters, weighted by its example count. It refuses
// vectors of the wrong length, non-positive weights and non-finite values, leaving the
// accumulator unchanged.
func (a *Accumulator) Add(params []float32, samples int) error {
	return a.AddWeighted(params, float64(samples), samples)
}

// AddWeighted folds in parameters trained on samples examples with another weight than
// their example count (a stale update, discounted), under Add's checks.
func (a *Accumulator) AddWeighted(params []float32, weight float64, samples int) error {
	if len(params) != len(a.sum) {
		return fmt.Errorf("fedavg: update has %d values, want %d", len(params), len(a.sum))
	}
	if samples <= 0 {
		return fmt.Errorf("fedavg: update trained on %d examples", samples)
	}
	if !(weight > 0) || math.IsInf(weight, 0) {
		return fmt.Errorf("fedavg: update weight %v", weight)
	}
	if i := a.nonFinite(params); i >= 0 {
		return fmt.Errorf("fedavg: update value %d is %v", i, params[i])
	}
	head := 0
	if a.vector {
		if head = len(params) &^ 3; head > 0 {
			addWeighted(&a.sum[0], &params[0], head, weight)
		}
	}
	for i := head; i < len(params); i++ {
		a.sum[i] += weight * float64(params[i])
	}
	a.weight += weight
	a.samples += samples
	a.count++
	return nil
}

// Count is the number of updates folded in.
func (a *Accumulator) Count() int { return a.count }

// Samples is the total example count of the folded updates.
func (a *Accumulator) Samples() int { return a.samples }

// Average returns the weighted mean of the updates.
func (a *Accumulator) Average() ([]float32, error) {
	if a.count == 0 {
		return nil, errors.New("fedavg: no updates to average")
	}
	out := make([]float32, len(a.sum))
	for i, s := range a.sum {
		out[i] = float32(s / a.weight)
	}
	return out, nil
}

// Partial is an accumulator's running sum, to store and merge into another one: a
// batch of clients folds its updates as they arrive, and the round's aggregation merges
// the batches' sums.
type Partial struct {
	Sum     []float64
	Weight  float64
	Samples int
	Count   int
}

// Partial returns the accumulator's running sum; it shares the accumulator's vector.
func (a *Accumulator) Partial() Partial {
	return Partial{Sum: a.sum, Weight: a.weight, Samples: a.samples, Count: a.count}
}

// Merge folds in another accumulator's running sum, refusing one of another length or
// with a non-finite value, leaving the accumulator unchanged.
func (a *Accumulator) Merge(p Partial) error {
	if len(p.Sum) != len(a.sum) {
		return fmt.Errorf("fedavg: partial sum has %d values, want %d", len(p.Sum), len(a.sum))
	}
	if p.Count <= 0 || !(p.Weight > 0) || math.IsInf(p.Weight, 0) || p.Samples <= 0 {
		return fmt.Errorf("fedavg: partial sum of %d updates, weight %v, %d samples", p.Count, p.Weight, p.Samples)
	}
	for i, v := range p.Sum {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("fedavg: partial sum value %d is %v", i, v)
		}
	}
	for i, v := range p.Sum {
		a.sum[i] += v
	}
	a.weight += p.Weight
	a.samples += p.Samples
	a.count += p.Count
	return nil
}
