package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestTierFor(t *testing.T) {
	tests := []struct {
		peak    int64
		want    int
		wantErr bool
	}{
		{peak: 1, want: 128},
		{peak: 128 * MiB, want: 128}, // exactly the setting still fits
		{peak: 128*MiB + 1, want: 256},
		{peak: 352 * MiB, want: 512}, // a torch process
		{peak: 134 * MiB, want: 256}, // a Go client
		{peak: 1025 * MiB, want: 2048},
		{peak: 8192 * MiB, want: 8192},
		{peak: 8192*MiB + 1, wantErr: true}, // beyond the largest setting
		{peak: 0, wantErr: true},            // nothing measured
		{peak: -1, wantErr: true},
	}
	for _, tc := range tests {
		got, err := TierFor(tc.peak)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("TierFor(%d) = %d, %v; want %d (error %t)", tc.peak, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestBilledAndGBSeconds(t *testing.T) {
	tests := []struct {
		mib    int
		d      time.Duration
		billed time.Duration
		gbs    float64
	}{
		{mib: 256, d: 0, billed: 0, gbs: 0},
		{mib: 256, d: time.Nanosecond, billed: 100 * time.Millisecond, gbs: 0.025},
		{mib: 1024, d: 100 * time.Millisecond, billed: 100 * time.Millisecond, gbs: 0.1}, // a whole step is not rounded up
		{mib: 1024, d: 101 * time.Millisecond, billed: 200 * time.Millisecond, gbs: 0.2},
		{mib: 256, d: 815 * time.Millisecond, billed: 900 * time.Millisecond, gbs: 0.225},
		{mib: 512, d: 1831 * time.Millisecond, billed: 1900 * time.Millisecond, gbs: 0.95},
		{mib: 2048, d: time.Second, billed: time.Second, gbs: 2}, // 1 GB-s is 1,024 MiB for a second
	}
	for _, tc := range tests {
		if got := Billed(tc.d); got != tc.billed {
			t.Errorf("Billed(%v) = %v, want %v", tc.d, got, tc.billed)
		}
		if got := GBSeconds(tc.mib, tc.d); math.Abs(got-tc.gbs) > 1e-12 {
			t.Errorf("GBSeconds(%d, %v) = %v, want %v", tc.mib, tc.d, got, tc.gbs)
		}
	}
}

func TestClientCostResults(t *testing.T) {
	goClient := ClientCost{Function: "fl_client", Samples: 600, Epochs: 10,
		Train: 600 * time.Millisecond, WarmRun: 650 * time.Millisecond,
		ColdStart: 820 * time.Millisecond, ColdRun: 815 * time.Millisecond, Init: 26 * time.Millisecond,
		Process: ProcStatus{PeakRSS: 134 * MiB}, CPU: 1900 * time.Millisecond, Active: 2 * time.Second}
	torch := ClientCost{Function: "pytorch_client", Samples: 600, Epochs: 10,
		Train: 400 * time.Millisecond, WarmRun: 397 * time.Millisecond,
		ColdStart: 1840 * time.Millisecond, ColdRun: 1831 * time.Millisecond, Init: 1230 * time.Millisecond,
		Process: ProcStatus{PeakRSS: 352 * MiB}, CPU: time.Second, Active: 2 * time.Second}
	results, err := ClientCostResults(goClient, torch)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name            string
		value, baseline float64
		lower           bool
	}{
		{"training time", 0.6, 0.4, true},
		{"throughput", 10_000, 15_000, false},
		{"cold start", 0.82, 1.84, true},
		{"peak RSS", 134, 352, true},
		{"GB-s cold", 0.25 * 0.9, 0.5 * 1.9, true}, // tiers 256 and 512 MiB, billed in 100 ms steps
		{"GB-s warm", 0.25 * 0.7, 0.5 * 0.4, true},
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for i, w := range want {
		r := results[i]
		if math.Abs(r.Value-w.value) > 1e-9 || math.Abs(r.Baseline-w.baseline) > 1e-9 || r.Lower != w.lower {
			t.Errorf("%s (%s): value %v, baseline %v, lower %t; want %v, %v, %t", w.name, r.Name, r.Value, r.Baseline, r.Lower, w.value, w.baseline, w.lower)
		}
	}
	// The ratio is the Go client's cost in the PyTorch client's: 1.5× the training time.
	if got := results[0].Ratio(); math.Abs(got-1.5) > 1e-9 {
		t.Errorf("training time ratio %v, want 1.5", got)
	}
	if note := results[0].Note; !strings.Contains(note, "0.95 cores for Go, 0.50 for PyTorch") {
		t.Errorf("training note lacks the cores each used: %s", note)
	}
	if note := results[4].Note; !strings.Contains(note, "Go 256 MiB, PyTorch 512 MiB") {
		t.Errorf("GB-s note lacks the tiers: %s", note)
	}
	torch.Process.PeakRSS = 0
	if _, err := ClientCostResults(goClient, torch); err == nil || !strings.Contains(err.Error(), "pytorch_client") {
		t.Errorf("no peak RSS: err %v, want one naming pytorch_client", err)
	}
}
