package bench

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// The process's own CPU is read off samples finer than the interval: a burst of work
// inside one interval is charged to the window it ran in, not spread over its
// neighbours (the coarse samples alone would charge the idle window next to it about
// as much as the burst's).
func TestCPUSamplerChargesABurstToItsOwnWindow(t *testing.T) {
	ctx := context.Background()
	s := StartCPUSampler(ctx, "/proc", 500*time.Millisecond)
	waitForSamples(t, s, time.Now())
	burstFrom := time.Now()
	burned := burn(t, 150*time.Millisecond)
	burstTo := time.Now()
	idleFrom := burstTo
	idleTo := idleFrom.Add(150 * time.Millisecond)
	waitForSamples(t, s, idleTo)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	inBurst, _, err := s.Between(burstFrom, burstTo)
	if err != nil {
		t.Fatal(err)
	}
	inIdle, _, err := s.Between(idleFrom, idleTo)
	if err != nil {
		t.Fatal(err)
	}
	// A sample every 50 ms: each edge of a window is off by at most a quarter of
	// what ran in the 50 ms around it.
	if inBurst < burned-50*time.Millisecond {
		t.Errorf("the burst's window was charged %v of the %v it burned", inBurst, burned)
	}
	if inIdle > inBurst/2 {
		t.Errorf("the idle window was charged %v, the burst's %v", inIdle, inBurst)
	}
}

// burn spends about d of this process's CPU and returns how much it spent.
func burn(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	start := ownCPU(t)
	x := 1.0
	for ownCPU(t)-start < d {
		for range 10000 {
			x = x*1.0000001 + 1e-9
		}
	}
	if x == 0 {
		t.Log(x) // keeps the loop
	}
	return ownCPU(t) - start
}

func ownCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitForSamples waits until the sampler has samples of both kinds after at.
func waitForSamples(t *testing.T, s *CPUSampler, at time.Time) {
	t.Helper()
	after := func(samples []CPUSample) bool { return len(samples) > 0 && samples[len(samples)-1].At.After(at) }
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		done := after(s.own) && after(s.samples)
		s.mu.Unlock()
		if done {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling the sampler's progress, not timing the test
	}
	t.Fatal("the sampler took no samples")
}
