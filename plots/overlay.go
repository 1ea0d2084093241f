package plots

import (
	"fmt"
	"strings"
)

// Run is one experiment's rounds.csv (or any CSV with a "round" column) to overlay,
// under the name its line gets in the legend.
type Run struct {
	Name string
	CSV  string
}

// ParseRun reads a command-line argument "name=path.csv"; a bare path is named after
// itself.
func ParseRun(arg string) (Run, error) {
	name, path, found := strings.Cut(arg, "=")
	if !found {
		name, path = arg, arg
	}
	if name == "" || path == "" {
		return Run{}, fmt.Errorf("plots: %q: want name=path.csv", arg)
	}
	return Run{Name: name, CSV: path}, nil
}

// Overlay draws one column of several runs against their round numbers in one figure,
// written as path.png and path.svg: how experiments (or an experiment and a published
// log) compare round by round.
func Overlay(path, column string, runs []Run) error {
	if len(runs) == 0 {
		return fmt.Errorf("plots: nothing to overlay")
	}
	series := make([]Series, 0, len(runs))
	for _, r := range runs {
		t, err := readCSV(r.CSV)
		if err != nil {
			return err
		}
		if len(t) == 0 {
			return fmt.Errorf("plots: %s has no rows", r.CSV)
		}
		xs, err := t.floats("round")
		if err != nil {
			return fmt.Errorf("%w (in %s)", err, r.CSV)
		}
		ys, err := t.floats(column)
		if err != nil {
			return fmt.Errorf("%w (in %s)", err, r.CSV)
		}
		series = append(series, Series{Name: r.Name, X: xs, Y: ys})
	}
	return Lines(path, column+" per round", "round", column, series)
}
