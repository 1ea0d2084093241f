package compare

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fedkeeper/fedkeeper/plots"
	"github.com/fedkeeper/fedkeeper/workflows"
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
	if err := drawFigures(dir, set, curves); err != nil {
		return "", err
	}
	return markdown(set, curves), nil
}

// Redraw draws a set's figures again from its CSV file in dir, without running
// anything: for a figure style changed after the experiments ran.
func Redraw(dir string, set Set) error {
	f, err := os.Open(filepath.Join(dir, set.Name+".csv"))
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 || !slices.Equal(rows[0], CSVHeader) {
		return fmt.Errorf("compare: %s.csv is not a comparison's CSV file (%v)", set.Name, err)
	}
	var curves []Curve
	for i, row := range rows[1:] {
		round, err1 := strconv.Atoi(row[1])
		accuracy, err2 := strconv.ParseFloat(row[2], 64)
		seconds, err3 := strconv.ParseFloat(row[5], 64)
		loss, err4 := strconv.ParseFloat(row[3], 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return fmt.Errorf("compare: %s.csv line %d: %w", set.Name, i+2, err)
		}
		if len(curves) == 0 || curves[len(curves)-1].Variant != row[0] {
			curves = append(curves, Curve{Variant: row[0]})
		}
		c := &curves[len(curves)-1]
		c.Rounds = append(c.Rounds, workflows.RoundSummary{Round: round, Accuracy: accuracy, Loss: loss, TotalSeconds: seconds})
	}
	return drawFigures(dir, set, curves)
}

// drawFigures draws accuracy per round and against the rounds' elapsed time, and with
// PlotLoss the loss per round.
func drawFigures(dir string, set Set, curves []Curve) error {
	byRound, byTime := make([]plots.Series, len(curves)), make([]plots.Series, len(curves))
	loss := make([]plots.Series, len(curves))
	for i, c := range curves {
		byRound[i], byTime[i], loss[i] = plots.Series{Name: c.Variant}, plots.Series{Name: c.Variant}, plots.Series{Name: c.Variant}
		elapsed := 0.0
		for _, r := range c.Rounds {
			elapsed += r.TotalSeconds
			byRound[i].X = append(byRound[i].X, float64(r.Round))
			byRound[i].Y = append(byRound[i].Y, r.Accuracy)
			byTime[i].X = append(byTime[i].X, elapsed)
			byTime[i].Y = append(byTime[i].Y, r.Accuracy)
			loss[i].X = append(loss[i].X, float64(r.Round))
			loss[i].Y = append(loss[i].Y, r.Loss)
		}
	}
	if err := plots.Lines(filepath.Join(dir, set.Name), set.Title, "round", "test accuracy", byRound); err != nil {
		return err
	}
	if set.PlotLoss {
		if err := plots.Lines(filepath.Join(dir, set.Name+"_loss"), lossTitle(set.Title), "round", "training loss", loss); err != nil {
			return err
		}
	}
	return plots.Lines(filepath.Join(dir, set.Name+"_time"), set.Title+", against time", "seconds of rounds", "test accuracy", byTime)
}

// lossTitle is a set's title with its loss in place of its accuracy.
func lossTitle(title string) string {
	if rest, ok := strings.CutPrefix(title, "accuracy"); ok {
		return "training loss" + rest
	}
	return title + ", training loss"
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
	if set.PlotLoss {
		epsHeader, epsRule = " final loss |"+epsHeader, "---|"+epsRule
	}
	fmt.Fprintf(&b, "| variant | rounds | final accuracy | best accuracy | first round ≥ %.2f | mean round s |%s experiment |\n", target, epsHeader)
	fmt.Fprintf(&b, "|---|---|---|---|---|---|%s---|\n", epsRule)
	for _, c := range curves {
		if c.Err != "" {
			empty := ""
			if private {
				empty = " |"
			}
			if set.PlotLoss {
				empty += " |"
			}
			fmt.Fprintf(&b, "| %s | – | failed: %s | | | |%s |\n", c.Variant, strings.ReplaceAll(c.Err, "|", "/"), empty)
			continue
		}
		first := "never"
		if r := c.RoundReaching(target); r > 0 {
			first = strconv.Itoa(r)
		}
		eps := ""
		if set.PlotLoss {
			eps = fmt.Sprintf(" %.4f |", c.FinalLoss())
		}
		if private {
			eps += " " + formatEpsilon(c.FinalEpsilon()) + " |"
		}
		fmt.Fprintf(&b, "| %s | %d | %.4f | %.4f | %s | %.2f |%s `%s` |\n", c.Variant, len(c.Rounds), c.Final(), c.Best(), first, c.MeanRoundSeconds(), eps, c.Experiment)
	}
	fmt.Fprintf(&b, "\n![%s](%s.png)\n\n", set.Title, set.Name)
	if set.PlotLoss {
		fmt.Fprintf(&b, "![%s](%s_loss.png)\n\n", lossTitle(set.Title), set.Name)
	}
	fmt.Fprintf(&b, "![%s, against time](%s_time.png)\n\n", set.Title, set.Name)
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
