package partition

import (
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
