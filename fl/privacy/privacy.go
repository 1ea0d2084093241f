// Package privacy protects each client's update with local differential privacy: the
// client clips its change to the global model to an L2 norm and adds Gaussian noise
// scaled to that bound (the Gaussian mechanism), and an accountant tells what privacy
// (ε, δ) a client keeps after the rounds it took part in, by Rényi differential privacy
// (Mironov 2017): T releases of a Gaussian mechanism with noise multiplier σ cost
// ε_α = T·α / (2σ²) at every order α > 1, which converts to
// ε = min over α of ε_α + log(1/δ) / (α − 1).
package privacy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Mechanism is a client's clipping bound and noise.
type Mechanism struct {
	// Clip bounds the L2 norm of a client's update (its change to the global model);
	// zero turns the mechanism off.
	Clip float64 `json:"clip,omitempty"`
	// NoiseMultiplier σ: each coordinate gets Gaussian noise of standard deviation σ·Clip.
	NoiseMultiplier float64 `json:"noise_multiplier,omitempty"`
	// Delta is the δ the accountant reports ε at.
	Delta float64 `json:"delta,omitempty"`
}

// On reports whether clients clip and add noise.
func (m Mechanism) On() bool { return m.Clip > 0 }

// Validate checks the settings.
func (m Mechanism) Validate() error {
	if !(m.Clip > 0) || math.IsInf(m.Clip, 0) {
		return fmt.Errorf("privacy: clip must be a positive norm, got %v", m.Clip)
	}
	if !(m.NoiseMultiplier >= 0) || math.IsInf(m.NoiseMultiplier, 0) {
		return fmt.Errorf("privacy: noise multiplier must not be negative, got %v", m.NoiseMultiplier)
	}
	return nil
}

// Apply turns a client's trained model into the model it reports: the update
// (trained − global) is scaled down to norm Clip if longer, noise drawn from rng is
// added, and global + update is written back into trained. It returns the update's
// norm before clipping.
func (m Mechanism) Apply(global, trained []float32, rng *rand.Rand) (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	if len(global) != len(trained) {
		return 0, fmt.Errorf("privacy: global model has %d values, the trained one %d", len(global), len(trained))
	}
	norm := 0.0
	for i := range trained {
		d := float64(trained[i]) - float64(global[i])
		norm += d * d
	}
	norm = math.Sqrt(norm)
	scale := 1.0
	if norm > m.Clip {
		scale = m.Clip / norm
	}
	sd := m.NoiseMultiplier * m.Clip
	for i := range trained {
		d := (float64(trained[i])-float64(global[i]))*scale + sd*rng.NormFloat64()
		trained[i] = float32(float64(global[i]) + d)
	}
	return norm, nil
}

// Epsilon is the ε a client keeps after releasing rounds noisy updates with noise
// multiplier sigma, at the given δ. No noise means no privacy: +Inf.
func Epsilon(sigma float64, rounds int, delta float64) (float64, error) {
	if !(delta > 0 && delta < 1) {
		return 0, errors.New("privacy: delta must be in (0, 1)")
	}
	if rounds < 0 {
		return 0, errors.New("privacy: rounds must not be negative")
	}
	if rounds == 0 {
		return 0, nil
	}
	if !(sigma > 0) {
		return math.Inf(1), nil
	}
	t := float64(rounds)
	// ε(α) = tα/(2σ²) + log(1/δ)/(α−1) is convex in α > 1 with its minimum at
	// α = 1 + σ·√(2·log(1/δ)/t), where it equals t/(2σ²) + √(2t·log(1/δ))/σ.
	logInv := math.Log(1 / delta)
	return t/(2*sigma*sigma) + math.Sqrt(2*t*logInv)/sigma, nil
}
