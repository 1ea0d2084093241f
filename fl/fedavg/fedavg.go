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
}

// NewAccumulator prepares averaging of vectors of the given length.
func NewAccumulator(size int) *Accumulator {
	return &Accumulator{sum: make([]float64, size)}
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
	for i, v := range params {
		// An all-ones exponent is what makes a float32 NaN or infinite.
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("fedavg: update value %d is %v", i, v)
		}
	}
	for i, v := range params {
		a.sum[i] += weight * float64(v)
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
