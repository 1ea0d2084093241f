// Command plot draws the figures of a finished experiment from its result files:
// `plot results/<experiment>` writes accuracy, loss, round_time, client_durations and
// cold_warm as PNG and SVG beside rounds.csv and clients.csv.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fedkeeper/fedkeeper/plots"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: plot RESULTS_DIR...  (a folder holding rounds.csv and clients.csv)")
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
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
