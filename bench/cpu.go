package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// CPUSample is the CPU time used up to At by this process (the keeper's worker with
// everything embedded beside it: Temporal, FerretDB, the local fabric) and by its
// child processes (the fabric's function processes).
type CPUSample struct {
	At                 time.Time
	Process, Functions time.Duration
}

// CPUSampler samples CPUSamples at a fixed interval until stopped, so that the CPU
// spent between two instants known only afterwards (a round's start and its version
// written, from its workflow) can be read off. A child process that exits takes its
// time out of the sum; the fabric keeps its function processes for the whole run.
// This process's own CPU is also sampled ownSamplesPer times as often, from
// getrusage: a round of a few tenths of a second would otherwise be charged much of
// what ran within an interval of it (the round before's evaluation).
type CPUSampler struct {
	procDir string
	pid     int
	mu      sync.Mutex
	samples []CPUSample
	// own are the finer samples of this process's CPU (Process only).
	own  []CPUSample
	err  error
	stop context.CancelFunc
	done chan struct{}
}

// ownSamplesPer is how many of its own CPU samples the process takes per interval.
const ownSamplesPer = 10

// StartCPUSampler samples this process every interval from procDir (/proc).
func StartCPUSampler(ctx context.Context, procDir string, interval time.Duration) *CPUSampler {
	ctx, stop := context.WithCancel(ctx)
	s := &CPUSampler{procDir: procDir, pid: os.Getpid(), stop: stop, done: make(chan struct{})}
	go s.run(ctx, interval)
	return s
}

func (s *CPUSampler) run(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval / ownSamplesPer)
	defer tick.Stop()
	for n := 0; ; n++ {
		s.sampleOwn()
		if n%ownSamplesPer == 0 {
			sample, err := s.sample()
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			s.samples = append(s.samples, sample)
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sampleOwn adds a sample of this process's CPU time (user and system), to the
// microsecond.
func (s *CPUSampler) sampleOwn() {
	var ru syscall.Rusage
	at := time.Now()
	err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = fmt.Errorf("bench: getrusage: %w", err)
		}
		return
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.own = append(s.own, CPUSample{At: at, Process: cpu})
}

// sample reads this process's CPU time and its children's, in one pass over procDir.
func (s *CPUSampler) sample() (CPUSample, error) {
	at := time.Now()
	entries, err := os.ReadDir(s.procDir)
	if err != nil {
		return CPUSample{At: at}, fmt.Errorf("bench: list processes: %w", err)
	}
	c := CPUSample{At: at}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		text, err := os.ReadFile(filepath.Join(s.procDir, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		ppid, cpu, err := ParseProcStat(string(text))
		switch {
		case err != nil:
			return c, fmt.Errorf("process %d: %w", pid, err)
		case pid == s.pid:
			c.Process = cpu
		case ppid == s.pid:
			c.Functions += cpu
		}
	}
	return c, nil
}

// Stop ends the sampling and reports its first error.
func (s *CPUSampler) Stop() error {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Between is the CPU time spent from one instant to another, each read off the
// samples around it by linear interpolation: this process's from its finer samples.
func (s *CPUSampler) Between(from, to time.Time) (process, functions time.Duration, err error) {
	s.mu.Lock()
	samples, own := slices.Clone(s.samples), slices.Clone(s.own)
	s.mu.Unlock()
	a, err := interpolate(samples, from)
	if err != nil {
		return 0, 0, err
	}
	b, err := interpolate(samples, to)
	if err != nil {
		return 0, 0, err
	}
	ownFrom, err := interpolate(own, from)
	if err != nil {
		return 0, 0, err
	}
	ownTo, err := interpolate(own, to)
	if err != nil {
		return 0, 0, err
	}
	return ownTo.Process - ownFrom.Process, b.Functions - a.Functions, nil
}

// interpolate is the sample at t, between the two taken around it.
func interpolate(samples []CPUSample, t time.Time) (CPUSample, error) {
	i, _ := slices.BinarySearchFunc(samples, t, func(c CPUSample, t time.Time) int { return c.At.Compare(t) })
	if i == 0 || i == len(samples) {
		return CPUSample{}, fmt.Errorf("bench: no CPU samples around %s", t.Format(time.RFC3339Nano))
	}
	lo, hi := samples[i-1], samples[i]
	f := float64(t.Sub(lo.At)) / float64(hi.At.Sub(lo.At))
	mix := func(x, y time.Duration) time.Duration { return x + time.Duration(f*float64(y-x)) }
	return CPUSample{At: t, Process: mix(lo.Process, hi.Process), Functions: mix(lo.Functions, hi.Functions)}, nil
}
