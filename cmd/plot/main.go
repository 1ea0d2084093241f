// Command plot draws figures from result files. `plot results/<experiment>` writes
// accuracy, loss, round_time, client_durations and cold_warm as PNG and SVG beside
// rounds.csv and clients.csv; `plot -overlay OUT [-column accuracy] name=rounds.csv ...`
// draws one column of several runs in one figure, OUT.png and OUT.svg.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fedkeeper/fedkeeper/plots"
)

func main() {
	overlay := flag.String("overlay", "", "draw the runs given as name=rounds.csv into one figure, `OUT`.png and OUT.svg")
	column := flag.String("column", "accuracy", "with -overlay: the column to draw against the round")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: plot RESULTS_DIR...  (a folder holding rounds.csv and clients.csv)")
		fmt.Fprintln(os.Stderr, "       plot -overlay OUT [-column accuracy] NAME=ROUNDS_CSV...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *overlay != "" {
		os.Exit(drawOverlay(*overlay, *column, flag.Args()))
	}
	failed := false
	for _, dir := range flag.Args() {
		written, err := plots.Render(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
			continue
		}
		for _, name := range written {
			fmt.Println(filepath.Join(dir, name+".png"), filepath.Join(dir, name+".svg"))
		}
	}
	if failed {
		os.Exit(1)
	}
}

func drawOverlay(out, column string, args []string) int {
	runs := make([]plots.Run, 0, len(args))
	for _, arg := range args {
		r, err := plots.ParseRun(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		runs = append(runs, r)
	}
	if err := plots.Overlay(out, column, runs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(out+".png", out+".svg")
	return 0
}
