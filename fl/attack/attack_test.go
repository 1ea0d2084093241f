package attack

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestMaliciousIsASeededFraction(t *testing.T) {
	s := Spec{Kind: Scale, Fraction: 0.25, Factor: -10, Seed: 3}
	m := s.Malicious(10)
	if len(m) != 3 { // ⌈2.5⌉
		t.Fatalf("%d malicious of 10, want 3", len(m))
	}
	if fmt.Sprint(s.Malicious(10)) != fmt.Sprint(m) {
		t.Error("not the same clients for the same seed")
	}
	if len((Spec{}).Malicious(10)) != 0 {
		t.Error("no attack made clients malicious")
	}
}

func TestApply(t *testing.T) {
	global := []float32{1, 2}
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		// The update (0.5, −1) times −10.
		{Spec{Kind: Scale, Fraction: 0.1, Factor: -10}, "[-4 12]"},
		{Spec{Kind: SignFlip, Fraction: 0.1}, "[0.5 3]"},
	} {
		trained := []float32{1.5, 1}
		if err := tc.spec.Apply(global, trained, nil); err != nil || fmt.Sprint(trained) != tc.want {
			t.Errorf("%s: %v (%v), want %s", tc.spec.Kind, trained, err, tc.want)
		}
	}
	trained := []float32{1.5, 1}
	r := Spec{Kind: Random, Fraction: 0.1, Factor: 3}
	if err := r.Apply(global, trained, rand.New(rand.NewPCG(1, 2))); err != nil || trained[0] == 1.5 || trained[1] == 1 {
		t.Errorf("random attack left %v (%v)", trained, err)
	}
	for _, bad := range []Spec{{Kind: "poison", Fraction: 0.1}, {Kind: Scale, Fraction: 0.1}, {Kind: SignFlip, Fraction: 1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
