// Package bench measures FedKeeper's costs against baselines taken in the same run
// (this machine is noisy, so only ratios compare across runs) and renders them as
// BENCHMARKS.md. `make bench` runs it through cmd/bench.
package bench

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Result is one measured figure beside its baseline.
type Result struct {
	Name string
	// Value and Baseline are in Unit; Lower says smaller is better (seconds) rather than
	// larger (throughput).
	Value, Baseline float64
	Unit            string
	Lower           bool
	BaselineName    string
	// Target is the goal in words; Met says whether Value reaches it (nil: no
	// target for this figure).
	Target string
	Met    *bool
	Note   string
}

// Ratio is how many times worse than its baseline the figure is (1 = as good).
func (r Result) Ratio() float64 {
	if r.Value == 0 || r.Baseline == 0 {
		return 0
	}
	if r.Lower {
		return r.Value / r.Baseline
	}
	return r.Baseline / r.Value
}

// Met makes a verdict for Result.Met.
func Met(ok bool) *bool { return &ok }

// Machine describes where the figures were taken.
type Machine struct {
	When    time.Time
	CPUs    int
	GoVer   string
	OS, Arc string
}

// ThisMachine is the machine the process runs on.
func ThisMachine(now time.Time) Machine {
	return Machine{When: now, CPUs: runtime.NumCPU(), GoVer: runtime.Version(), OS: runtime.GOOS, Arc: runtime.GOARCH}
}

// Markdown renders the results as the body of BENCHMARKS.md.
func Markdown(m Machine, results []Result, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nMeasured by `make bench` on %s: %d CPUs, %s, %s/%s; the whole run took %s.\n",
		m.When.UTC().Format("2006-01-02 15:04 MST"), m.CPUs, m.GoVer, m.OS, m.Arc, elapsed.Round(time.Second))
	b.WriteString("Each figure sits beside a baseline measured in the same run; the ratio says how many\n" +
		"times worse FedKeeper is than the baseline (1.00 = as good), which is what compares\n" +
		"across runs on a noisy machine.\n\n")
	b.WriteString("| benchmark | FedKeeper | baseline | ratio | target | met |\n|---|---|---|---|---|---|\n")
	for _, r := range results {
		verdict := ""
		if r.Met != nil {
			verdict = map[bool]string{true: "yes", false: "**no**"}[*r.Met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s (%s) | %.2f | %s | %s |\n", r.Name, figure(r.Value, r.Unit),
			figure(r.Baseline, r.Unit), r.BaselineName, r.Ratio(), r.Target, verdict)
	}
	var notes []string
	for _, r := range results {
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("- **%s**: %s", r.Name, r.Note))
		}
	}
	sort.Strings(notes)
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

func figure(v float64, unit string) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 1:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
	return fmt.Sprintf("%.4f %s", v, unit)
}
