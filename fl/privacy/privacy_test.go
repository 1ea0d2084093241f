package privacy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestApplyClipsAndAddsNoise(t *testing.T) {
	global := []float32{1, 1}
	// The update (3, 4) has norm 5; clipped to 1 it is (0.6, 0.8).
	trained := []float32{4, 5}
	m := Mechanism{Clip: 1}
	norm, err := m.Apply(global, trained, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if norm != 5 || math.Abs(float64(trained[0])-1.6) > 1e-6 || math.Abs(float64(trained[1])-1.8) > 1e-6 {
		t.Errorf("norm %v, model %v; want 5 and (1.6, 1.8)", norm, trained)
	}
	// A short update is kept as it is.
	short := []float32{1.3, 1}
	if _, err := m.Apply(global, short, rand.New(rand.NewPCG(1, 2))); err != nil || math.Abs(float64(short[0])-1.3) > 1e-6 {
		t.Errorf("short update became %v (%v)", short, err)
	}
	// Noise of standard deviation σ·C on every coordinate: over 100,000 of them the
	// sample deviation is within 1% of 0.5·2 = 1.
	n := 100000
	g, tr := make([]float32, n), make([]float32, n)
	noisy := Mechanism{Clip: 2, NoiseMultiplier: 0.5}
	if _, err := noisy.Apply(g, tr, rand.New(rand.NewPCG(3, 4))); err != nil {
		t.Fatal(err)
	}
	sum, sq := 0.0, 0.0
	for _, v := range tr {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean := sum / float64(n)
	sd := math.Sqrt(sq/float64(n) - mean*mean)
	if math.Abs(sd-1) > 0.01 || math.Abs(mean) > 0.01 {
		t.Errorf("noise mean %v, deviation %v; want 0 and 1", mean, sd)
	}
	if _, err := (Mechanism{Clip: 0}).Apply(global, trained, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("clip 0 accepted")
	}
}

func TestEpsilon(t *testing.T) {
	for _, tc := range []struct {
		sigma  float64
		rounds int
		delta  float64
		want   float64
	}{
		// One release at σ = 1, δ = e⁻¹⁰: 1/2 + √20 = 4.9721.
		{1, 1, math.Exp(-10), 0.5 + math.Sqrt(20)},
		// 100 releases at σ = 10, δ = e⁻¹⁰: 100/200 + √2000/10 = 0.5 + 4.4721.
		{10, 100, math.Exp(-10), 0.5 + math.Sqrt(2000)/10},
		{1, 0, 1e-5, 0},
	} {
		got, err := Epsilon(tc.sigma, tc.rounds, tc.delta)
		if err != nil || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("σ %v, %d rounds: ε %v (%v), want %v", tc.sigma, tc.rounds, got, err, tc.want)
		}
	}
	// The closed form is the minimum over the orders α.
	sigma, rounds, delta := 2.0, 30, 1e-5
	best, _ := Epsilon(sigma, rounds, delta)
	for a := 1.01; a < 200; a += 0.01 {
		if e := float64(rounds)*a/(2*sigma*sigma) + math.Log(1/delta)/(a-1); e < best-1e-9 {
			t.Fatalf("order %v gives ε %v below the closed form's %v", a, e, best)
		}
	}
	// More rounds cost more privacy; more noise buys it back.
	e1, _ := Epsilon(1, 10, 1e-5)
	e2, _ := Epsilon(1, 20, 1e-5)
	e3, _ := Epsilon(2, 20, 1e-5)
	if !(e2 > e1 && e3 < e2) {
		t.Errorf("ε %v, %v, %v", e1, e2, e3)
	}
	if e, _ := Epsilon(0, 1, 1e-5); !math.IsInf(e, 1) {
		t.Errorf("no noise gave ε %v", e)
	}
}
