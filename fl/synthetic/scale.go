package synthetic

import (
	"math"
	"math/big"
)

// InputScales are the standard deviations of the input features, Σ^½ = diag(j^-0.6)
// for j = 1..60 ([G] L39–42), each the float64 nearest to j^-0.6.
//
// Not math.Pow's: Go's Pow and the C library's pow differ in the last bit for a third
// of these (Go's gives 32^-0.6 as 1/8 plus an ulp), and an SDK in another language must
// find the same bits. The nearest float64 is one answer every language can compute
// exactly, which nearest does with rational arithmetic.
func InputScales() [Features]float64 {
	var s [Features]float64
	for j := range s {
		s[j] = nearestRoot(j + 1)
	}
	return s
}

// nearestRoot returns the float64 nearest to j^(-3/5), j ≥ 1. It starts from math.Pow,
// a few ulps off at most, and moves to the float64 d whose neighbouring midpoints
// bracket the root: mid_low < j^(-3/5) < mid_high, which for positive m is
// m⁵·j³ < 1 exactly when m < j^(-3/5). Ties cannot happen: the root is either exactly
// a float64 (j a fifth power) or irrational.
func nearestRoot(j int) float64 {
	d := math.Pow(float64(j), -0.6)
	for range 64 {
		switch {
		case !belowRoot(j, midpoint(math.Nextafter(d, 0), d)):
			d = math.Nextafter(d, 0)
		case belowRoot(j, midpoint(d, math.Nextafter(d, 2))):
			d = math.Nextafter(d, 2)
		default:
			return d
		}
	}
	panic("synthetic: j^-0.6 did not converge") // math.Pow is never 64 ulps off
}

// exact is enough bits for m⁵·j³ without rounding: a midpoint has 54 significant bits,
// its fifth power 270, and j³ (j ≤ 60) 18.
const exact = 400

func midpoint(a, b float64) *big.Float {
	m := new(big.Float).SetPrec(exact).SetFloat64(a)
	m.Add(m, new(big.Float).SetPrec(exact).SetFloat64(b))
	return m.Quo(m, big.NewFloat(2))
}

// belowRoot reports whether m < j^(-3/5), that is m⁵·j³ < 1.
func belowRoot(j int, m *big.Float) bool {
	p := new(big.Float).SetPrec(exact).SetInt64(1)
	for range 5 {
		p.Mul(p, m)
	}
	jj := new(big.Float).SetPrec(exact).SetInt64(int64(j))
	for range 3 {
		p.Mul(p, jj)
	}
	return p.Cmp(big.NewFloat(1)) < 0
}
