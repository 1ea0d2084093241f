package bench

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/google/pprof/profile"
)

// CPUSplit is how a process's CPU profile divides among what runs in it: the
// embedded store (FerretDB on SQLite), the local platform (the fabric's server,
// invoker and the HTTP server it answers on) and everything else, the keeper: its
// worker's activities, the Temporal SDK and server, the HTTP clients it calls
// platforms with, and the Go runtime's collector. Each is a fraction of the samples.
type CPUSplit struct {
	Store, Platform, Keeper float64
}

// storeFrames and platformFrames mark a sample as the store's or the platform's when
// any frame of its stack starts with one of them.
var (
	storeFrames    = []string{"github.com/FerretDB/", "modernc.org/", "github.com/fedkeeper/fedkeeper/embedded/mongodb."}
	platformFrames = []string{"github.com/fedkeeper/fedkeeper/fabric", "net/http.(*conn).serve"}
)

// SplitCPU reads a CPU profile (pprof's format, as runtime/pprof writes it) and
// divides its samples' CPU time.
func SplitCPU(data []byte) (CPUSplit, error) {
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return CPUSplit{}, fmt.Errorf("bench: read CPU profile: %w", err)
	}
	cpu := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			cpu = i
		}
	}
	if cpu < 0 {
		return CPUSplit{}, fmt.Errorf("bench: the profile has no cpu samples")
	}
	var store, platform, total float64
	for _, s := range p.Sample {
		v := float64(s.Value[cpu])
		total += v
		switch {
		case stackHas(s, storeFrames):
			store += v
		case stackHas(s, platformFrames):
			platform += v
		}
	}
	if total == 0 {
		return CPUSplit{}, fmt.Errorf("bench: the profile holds no CPU time")
	}
	return CPUSplit{Store: store / total, Platform: platform / total, Keeper: (total - store - platform) / total}, nil
}

// stackHas says whether any frame of the sample's stack starts with one of prefixes.
func stackHas(s *profile.Sample, prefixes []string) bool {
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function == nil {
				continue
			}
			for _, prefix := range prefixes {
				if strings.HasPrefix(line.Function.Name, prefix) {
					return true
				}
			}
		}
	}
	return false
}
