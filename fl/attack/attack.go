// Package attack makes some clients malicious, to test that a strategy withstands
// them: a seeded fraction of the clients replaces its honest update by a scaled one
// (the update times Scale, e.g. −10, a model-replacement or reversal attack), a
// sign-flipped one, or Gaussian noise.
package attack

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Kinds of attack.
const (
	Scale    = "scale"
	SignFlip = "sign_flip"
	Random   = "random"
)

// Spec describes the attack; the zero value is none.
type Spec struct {
	Kind string `json:"kind,omitempty"`
	// Fraction of all clients that are malicious, chosen once per experiment by Seed.
	Fraction float64 `json:"fraction,omitempty"`
	// Factor multiplies the update (scale) or is the noise's standard deviation (random).
	Factor float64 `json:"factor,omitempty"`
	Seed   uint64  `json:"seed,omitempty"`
}

// On reports whether any client attacks.
func (s Spec) On() bool { return s.Kind != "" && s.Fraction > 0 }

// Validate checks the settings.
func (s Spec) Validate() error {
	if s.Kind == "" {
		return nil
	}
	switch s.Kind {
	case Scale, SignFlip, Random:
	default:
		return fmt.Errorf("attack: unknown kind %q (want %s, %s or %s)", s.Kind, Scale, SignFlip, Random)
	}
	if !(s.Fraction >= 0 && s.Fraction < 1) {
		return fmt.Errorf("attack: fraction must be in [0, 1), got %v", s.Fraction)
	}
	if (s.Kind == Scale || s.Kind == Random) && (s.Factor == 0 || math.IsNaN(s.Factor) || math.IsInf(s.Factor, 0)) {
		return fmt.Errorf("attack: %s needs a non-zero factor, got %v", s.Kind, s.Factor)
	}
	return nil
}

// Malicious lists which of total clients attack: the first ⌈Fraction·total⌉ of a
// permutation seeded by Seed.
func (s Spec) Malicious(total int) map[int]bool {
	out := map[int]bool{}
	if !s.On() {
		return out
	}
	n := int(math.Ceil(s.Fraction * float64(total)))
	for _, c := range rand.New(rand.NewPCG(s.Seed, 0xbad)).Perm(total)[:n] {
		out[c] = true
	}
	return out
}

// Apply replaces the honest trained model (in place) by the attack's, relative to the
// global model it started from; rng drives the random attack.
func (s Spec) Apply(global, trained []float32, rng *rand.Rand) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(global) != len(trained) {
		return fmt.Errorf("attack: global model has %d values, the trained one %d", len(global), len(trained))
	}
	for i := range trained {
		g, d := float64(global[i]), float64(trained[i])-float64(global[i])
		switch s.Kind {
		case Scale:
			d *= s.Factor
		case SignFlip:
			d = -d
		case Random:
			d = s.Factor * rng.NormFloat64()
		}
		trained[i] = float32(g + d)
	}
	return nil
}
