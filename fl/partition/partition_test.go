package partition

import (
	"fmt"
	"testing"
)

// labels returns n examples of ten classes, in a shuffled-looking order.
func labels(n int) []uint8 {
	out := make([]uint8, n)
	for i := range out {
		out[i] = uint8((i * 7) % 10)
	}
	return out
}

func TestNonIIDShardsAsTheSeed(t *testing.T) {
	ls := labels(60000)
	spec := Spec{Scheme: NonIID, NumClients: 100, ShardsPerClient: 2, ShardSize: 300, Seed: 1}
	parts, err := Split(ls, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 100 {
		t.Fatalf("%d clients", len(parts))
	}
	seen := map[int]bool{}
	for c, idx := range parts {
		if len(idx) != 600 {
			t.Fatalf("client %d has %d examples", c, len(idx))
		}
		classes := map[uint8]bool{}
		for _, i := range idx {
			if seen[i] {
				t.Fatalf("example %d given twice", i)
			}
			seen[i] = true
			classes[ls[i]] = true
		}
		// Two label-sorted shards of 300 span at most two classes each (6,000 per class).
		if len(classes) > 4 {
			t.Errorf("client %d sees %d classes", c, len(classes))
		}
	}
	if len(seen) != 60000 {
		t.Errorf("%d of 60000 examples handed out", len(seen))
	}
	again, _ := Split(ls, spec)
	for c := range parts {
		for i := range parts[c] {
			if parts[c][i] != again[c][i] {
				t.Fatal("same seed, different split")
			}
		}
	}
	other, _ := Split(ls, Spec{Scheme: NonIID, NumClients: 100, ShardsPerClient: 2, ShardSize: 300, Seed: 2})
	if other[0][0] == parts[0][0] && other[1][0] == parts[1][0] && other[2][0] == parts[2][0] {
		t.Error("different seeds gave the same split")
	}
}

func TestIIDMatchesNonIIDSize(t *testing.T) {
	ls := labels(10000)
	parts, err := Split(ls, Spec{Scheme: IID, NumClients: 5, ShardsPerClient: 2, ShardSize: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for c, idx := range parts {
		if len(idx) != 600 {
			t.Fatalf("client %d has %d examples", c, len(idx))
		}
		classes := map[uint8]bool{}
		for _, i := range idx {
			if seen[i] {
				t.Fatalf("example %d given twice", i)
			}
			seen[i] = true
			classes[ls[i]] = true
		}
		if len(classes) != 10 {
			t.Errorf("IID client %d sees only %d classes", c, len(classes))
		}
	}
}

func TestImpossibleSplitsAreRefused(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"too many shards", Spec{Scheme: NonIID, NumClients: 101, ShardsPerClient: 2, ShardSize: 300}},
		{"too many iid examples", Spec{Scheme: IID, NumClients: 101, ShardsPerClient: 2, ShardSize: 300}},
		{"no clients", Spec{Scheme: IID, NumClients: 0, ShardsPerClient: 2, ShardSize: 300}},
		{"unknown scheme", Spec{Scheme: "dirichlet", NumClients: 1, ShardsPerClient: 1, ShardSize: 1}},
	}
	for _, tc := range tests {
		if _, err := Split(labels(60000), tc.spec); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// labelShare is, for every client, the largest fraction of its examples sharing a label.
func labelShare(parts [][]int, ls []uint8) []float64 {
	out := make([]float64, len(parts))
	for c, part := range parts {
		counts := map[uint8]int{}
		top := 0
		for _, i := range part {
			counts[ls[i]]++
			top = max(top, counts[ls[i]])
		}
		out[c] = float64(top) / float64(len(part))
	}
	return out
}

func TestDirichletLabelSkew(t *testing.T) {
	ls := labels(60000)
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	for _, tc := range []struct {
		alpha          float64
		minTop, maxTop float64 // bounds on the mean share of a client's commonest label
	}{
		{0.1, 0.6, 1},  // most clients are dominated by one or two digits
		{1000, 0, 0.2}, // close to IID: ten digits at about 0.1 each
	} {
		t.Run(fmt.Sprint(tc.alpha), func(t *testing.T) {
			spec := Spec{Scheme: Dirichlet, NumClients: 100, ShardsPerClient: 2, ShardSize: 300, Seed: 3, Alpha: tc.alpha}
			parts, err := Split(ls, spec)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]bool{}
			total := 0
			for c, part := range parts {
				if len(part) < minPerClient {
					t.Errorf("client %d has %d examples", c, len(part))
				}
				for _, i := range part {
					if seen[i] {
						t.Fatalf("example %d given twice", i)
					}
					seen[i] = true
				}
				total += len(part)
			}
			if total != 100*2*300 {
				t.Errorf("%d examples split, want %d", total, 100*2*300)
			}
			if top := mean(labelShare(parts, ls)); top < tc.minTop || top > tc.maxTop {
				t.Errorf("mean share of the commonest label %.3f, want within [%v, %v]", top, tc.minTop, tc.maxTop)
			}
			again, _ := Split(ls, spec)
			if fmt.Sprint(again) != fmt.Sprint(parts) {
				t.Error("the same spec split differently")
			}
		})
	}
	if _, err := Split(ls, Spec{Scheme: Dirichlet, NumClients: 10, ShardsPerClient: 1, ShardSize: 100, Seed: 1}); err == nil {
		t.Error("alpha 0 accepted")
	}
}
