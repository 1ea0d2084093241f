package compare

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fedkeeper/fedkeeper/plots"
)

// CSVHeader is the column list of <set>.csv: one line per round of every variant.
var CSVHeader = []string{"variant", "round", "accuracy", "loss", "counted", "total_s", "elapsed_s"}

// Write puts a set's results into dir: <set>.csv, the figures <set>.png/.svg (accuracy
// per round) and <set>_time.png/.svg (accuracy against the experiment's elapsed
// time), and returns the set's section of the comparison's markdown.
func Write(dir string, set Set, curves []Curve) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("compare: %w", err)
	}
	if err := writeCSV(filepath.Join(dir, set.Name+".csv"), curves); err != nil {
		return "", err
	}
	byRound, byTime := make([]plots.Series, len(curves)), make([]plots.Series, len(curves))
	for i, c := range curves {
		byRound[i], byTime[i] = plots.Series{Name: c.Variant}, plots.Series{Name: c.Variant}
		elapsed := 0.0
		for _, r := range c.Rounds {
			elapsed += r.TotalSeconds
			byRound[i].X = append(byRound[i].X, float64(r.Round))
			byRound[i].Y = append(byRound[i].Y, r.Accuracy)
			byTime[i].X = append(byTime[i].X, elapsed)
			byTime[i].Y = append(byTime[i].Y, r.Accuracy)
		}
	}
	if err := plots.Lines(filepath.Join(dir, set.Name), set.Title, "round", "test accuracy", byRound); err != nil {
		return "", err
	}
	if err := plots.Lines(filepath.Join(dir, set.Name+"_time"), set.Title+", against time", "seconds of rounds", "test accuracy", byTime); err != nil {
		return "", err
	}
	return markdown(set, curves), nil
}

func writeCSV(path string, curves []Curve) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(CSVHeader)
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, c := range curves {
		elapsed := 0.0
		for _, r := range c.Rounds {
			elapsed += r.TotalSeconds
			_ = w.Write([]string{c.Variant, strconv.Itoa(r.Round), num(r.Accuracy), num(r.Loss),
				strconv.Itoa(r.Counted), num(r.TotalSeconds), num(elapsed)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("compare: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("compare: write %s: %w", path, err)
	}
	return nil
}

// markdown is a set's section: what it shows, a table, and its two figures.
func markdown(set Set, curves []Curve) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n%s\n\n", upperFirst(set.Title), set.About)
	target := reachable(curves)
	private := slices.ContainsFunc(curves, func(c Curve) bool { return c.FinalEpsilon() != 0 })
	epsHeader, epsRule := "", ""
	if private {
		epsHeader, epsRule = " ε |", "---|"
	}
	fmt.Fprintf(&b, "| variant | rounds | final accuracy | best accuracy | first round ≥ %.2f | mean round s |%s experiment |\n", target, epsHeader)
	fmt.Fprintf(&b, "|---|---|---|---|---|---|%s---|\n", epsRule)
	for _, c := range curves {
		if c.Err != "" {
			empty := ""
			if private {
				empty = " |"
			}
			fmt.Fprintf(&b, "| %s | – | failed: %s | | | |%s |\n", c.Variant, strings.ReplaceAll(c.Err, "|", "/"), empty)
			continue
		}
		first := "never"
		if r := c.RoundReaching(target); r > 0 {
			first = strconv.Itoa(r)
		}
		eps := ""
		if private {
			eps = " " + formatEpsilon(c.FinalEpsilon()) + " |"
		}
		fmt.Fprintf(&b, "| %s | %d | %.4f | %.4f | %s | %.2f |%s `%s` |\n", c.Variant, len(c.Rounds), c.Final(), c.Best(), first, c.MeanRoundSeconds(), eps, c.Experiment)
	}
	fmt.Fprintf(&b, "\n![%s](%s.png)\n\n![%s, against time](%s_time.png)\n\n", set.Title, set.Name, set.Title, set.Name)
	return b.String()
}

// formatEpsilon writes a privacy budget: none, a number, or no guarantee at all.
func formatEpsilon(eps float64) string {
	switch {
	case eps == 0:
		return "–"
	case eps >= math.MaxFloat64:
		return "∞"
	}
	return strconv.FormatFloat(eps, 'g', 3, 64)
}

// reachable is the accuracy mark of a set's table: 95% of the best final accuracy of
// its variants, rounded down to a hundredth, so the column tells fast from slow.
func reachable(curves []Curve) float64 {
	best := 0.0
	for _, c := range curves {
		best = max(best, c.Final())
	}
	return float64(int(best*0.95*100)) / 100
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
