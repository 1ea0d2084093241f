package bench

import (
	"strings"
	"testing"
	"time"
)

func TestRatioAndTable(t *testing.T) {
	tests := []struct {
		r    Result
		want float64
	}{
		{Result{Value: 2, Baseline: 0.5, Lower: true}, 4},   // seconds: four times slower
		{Result{Value: 50, Baseline: 100}, 2},               // throughput: half as fast
		{Result{Value: 0.5, Baseline: 1, Lower: true}, 0.5}, // faster than the baseline
		{Result{Value: 0, Baseline: 1}, 0},                  // not measured
	}
	for _, tc := range tests {
		if got := tc.r.Ratio(); got != tc.want {
			t.Errorf("%+v: ratio %v, want %v", tc.r, got, tc.want)
		}
	}
	md := Markdown(Machine{When: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), CPUs: 2, GoVer: "go1.26", OS: "linux", Arc: "amd64"},
		[]Result{
			{Name: "fast", Value: 0.05, Baseline: 0.04, Unit: "s", Lower: true, BaselineName: "raw", Target: "≤ 0.1 s", Met: Met(true)},
			{Name: "slow", Value: 6, Baseline: 0.2, Unit: "s", Lower: true, BaselineName: "raw", Target: "≤ 0.5 s", Met: Met(false), Note: "why"},
		}, 90*time.Second)
	for _, want := range []string{"2026-11-27 12:00 UTC: 2 CPUs", "took 1m30s", "| fast | 0.0500 s | 0.0400 s (raw) | 1.25 | ≤ 0.1 s | yes |",
		"| slow | 6.00 s | 0.2000 s (raw) | 30.00 | ≤ 0.5 s | **no** |", "- **slow**: why"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
