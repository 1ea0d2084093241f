package main

import (
	"testing"

	"github.com/fedkeeper/fedkeeper/weights"
)

func TestTallyFindsLostAndDoubleCountedUpdates(t *testing.T) {
	acts := []activation{
		{round: 1, client: 0, attempt: 1, success: false},
		{round: 1, client: 0, attempt: 2, success: true, samples: 600},
		{round: 1, client: 1, attempt: 1, success: true, samples: 600},
	}
	ref := func(round, client, attempt int) weights.UpdateRef {
		return weights.UpdateRef{Round: round, Client: client, Attempt: attempt, Samples: 600, Checksum: "x"}
	}
	v1 := weights.GlobalInfo{Version: 1, Samples: 1200, Counted: []weights.UpdateRef{ref(1, 0, 2), ref(1, 1, 1)}}
	tests := []struct {
		name        string
		versions    []weights.GlobalInfo
		lost, twice int
	}{
		{"every update once", []weights.GlobalInfo{v1}, 0, 0},
		{"client 1 never counted", []weights.GlobalInfo{{Version: 1, Samples: 600, Counted: []weights.UpdateRef{ref(1, 0, 2)}}}, 1, 0},
		// A later version folds in client 1's update again, as a replayed late update
		// would be.
		{"counted by two versions", []weights.GlobalInfo{v1, {Version: 2, Samples: 600, Counted: []weights.UpdateRef{ref(1, 1, 1)}}}, 0, 1},
		{"counted twice in one version", []weights.GlobalInfo{{Version: 1, Samples: 1800, Counted: []weights.UpdateRef{ref(1, 0, 2), ref(1, 1, 1), ref(1, 1, 1)}}}, 0, 1},
		{"the failed attempt counted", []weights.GlobalInfo{{Version: 1, Samples: 1200, Counted: []weights.UpdateRef{ref(1, 0, 1), ref(1, 1, 1)}}}, 0, 1},
		{"more samples than the updates listed", []weights.GlobalInfo{{Version: 1, Samples: 1800, Counted: v1.Counted}}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tally(acts, tc.versions)
			if got.lost != tc.lost || got.twice != tc.twice {
				t.Errorf("lost %d, counted twice %d; want %d and %d (%v)", got.lost, got.twice, tc.lost, tc.twice, got.problems)
			}
		})
	}
}
