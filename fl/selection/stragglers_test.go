package selection

import (
	"slices"
	"testing"
)

func TestStragglerCount(t *testing.T) {
	tests := []struct {
		k    int
		s    float64
		want int
	}{
		{10, 0, 0},
		{10, 0.5, 5},
		{10, 0.9, 9},  // round(10·0.1) = 1 keeps its epochs
		{10, 0.95, 9}, // round(0.5) = 0 active, but one always finishes
		{10, 0.24, 2},
		{5, 0.5, 3}, // round(2.5) = 2 active: half to even, as the paper's Python rounds
		{7, 0.5, 3}, // round(3.5) = 4 active
		{1, 0.5, 0},
		{0, 0.5, 0},
		{10, -1, 0},
	}
	for _, tc := range tests {
		if got := StragglerCount(tc.k, tc.s); got != tc.want {
			t.Errorf("StragglerCount(%d, %v) = %d, want %d", tc.k, tc.s, got, tc.want)
		}
	}
}

func TestStragglersMarking(t *testing.T) {
	selected := []int{2, 5, 7, 11, 13, 17, 19, 23, 29, 31}
	tests := []struct {
		name      string
		fraction  float64
		epochs    int
		wantCount int
	}{
		{"none", 0, 20, 0},
		{"half", 0.5, 20, 5},
		{"ninety percent", 0.9, 20, 9},
		{"two epochs: a straggler runs one", 0.5, 2, 5},
		{"one epoch: none can run fewer", 0.5, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Stragglers(3, 4, selected, tc.fraction, tc.epochs)
			if len(got) != len(selected) {
				t.Fatalf("%d entries for %d clients", len(got), len(selected))
			}
			n := 0
			for _, e := range got {
				if e == 0 {
					continue
				}
				n++
				if e < 1 || e > tc.epochs-1 {
					t.Errorf("a straggler runs %d of %d epochs; want 1..%d", e, tc.epochs, tc.epochs-1)
				}
			}
			if n != tc.wantCount {
				t.Errorf("%d stragglers, want %d", n, tc.wantCount)
			}
			if again := Stragglers(3, 4, selected, tc.fraction, tc.epochs); !slices.Equal(got, again) {
				t.Error("the same seed and round mark other stragglers")
			}
		})
	}
}

// The draws differ from round to round and from seed to seed, cover every position
// and every allowed epoch count, and spread evenly.
func TestStragglersSpread(t *testing.T) {
	selected := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	const rounds, epochs = 2000, 20
	positions := make([]int, len(selected))
	counts := make([]int, epochs)
	first := Stragglers(1, 1, selected, 0.5, epochs)
	changed := false
	for r := 1; r <= rounds; r++ {
		got := Stragglers(1, r, selected, 0.5, epochs)
		changed = changed || !slices.Equal(got, first)
		for i, e := range got {
			if e > 0 {
				positions[i]++
				counts[e]++
			}
		}
	}
	if !changed || slices.Equal(first, Stragglers(2, 1, selected, 0.5, epochs)) {
		t.Error("the stragglers do not change with the round and the seed")
	}
	for i, n := range positions {
		if n < rounds/2-150 || n > rounds/2+150 {
			t.Errorf("position %d straggled in %d of %d rounds, want about half", i, n, rounds)
		}
	}
	per := float64(rounds*5) / (epochs - 1)
	for e := 1; e < epochs; e++ {
		if float64(counts[e]) < 0.75*per || float64(counts[e]) > 1.25*per {
			t.Errorf("%d stragglers ran %d epochs, want about %.0f", counts[e], e, per)
		}
	}
	if counts[0] != 0 {
		t.Error("a straggler ran 0 epochs")
	}
}
