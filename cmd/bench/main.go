// Command bench runs FedKeeper's benchmarks and writes BENCHMARKS.md (`make bench`).
// Every figure is measured beside a baseline in the same run. The binary also serves
// as the no-op action of the fan-out benchmark when the fabric starts it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/bench"
	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/fabric/python"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/functions/actionloop"
	"github.com/fedkeeper/fedkeeper/weights"
)

func main() {
	if os.Getenv("__OW_ACTION_NAME") != "" {
		noop := func(context.Context, json.RawMessage) (any, error) { return map[string]any{}, nil }
		if err := actionloop.Serve(noop); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	out := flag.String("out", "", "where to write the results (default BENCHMARKS.md for a full run; -only prints them)")
	scale := flag.Bool("scale", false, "also run an experiment of 500 rounds (minutes more)")
	only := flag.String("only", "", "run one group: fanout, store, training, clients (Go and PyTorch client-rounds), rounds, streaming (the aggregation of 1,000 MLP clients) or history (the 500-round experiment)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (with -only: a full run profiles only the process that starts the groups)")
	noop := flag.String("noop", "", "with -only rounds: run only rounds of no-op clients of these sizes, comma-separated (e.g. 1000)")
	resultsFile := flag.String("results", "", "with -only: write the group's results to this file as JSON instead (a full run's child processes)")
	flag.Parse()
	sizes, err := noopSizes(*noop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *scale, *only, *resultsFile, sizes); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// groups are the benchmark groups in the order a full run takes them; history only
// with -scale.
var groups = []string{"fanout", "store", "training", "clients", "rounds", "streaming", "history"}

// run runs one group (-only), or every group each in a process of its own, so that a
// group's leftovers (its heap, the stopped stacks' goroutines) weigh on no other, and
// writes their results.
func run(ctx context.Context, out string, scale bool, only, resultsFile string, noop []int) error {
	if only != "" && !slices.Contains(groups, only) {
		return fmt.Errorf("-only %q: want %s", only, strings.Join(groups, ", "))
	}
	began := time.Now()
	var results []bench.Result
	var err error
	if only != "" {
		results, err = runGroup(ctx, only, noop)
	} else {
		results, err = runIsolated(ctx, scale)
	}
	if err != nil {
		return err
	}
	if resultsFile != "" {
		data, err := json.Marshal(results)
		if err != nil {
			return err
		}
		return os.WriteFile(resultsFile, data, 0o600)
	}
	md := bench.Markdown(bench.ThisMachine(began), results, time.Since(began))
	if out == "" && only == "" {
		out = "BENCHMARKS.md"
	}
	if out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	fmt.Print(md)
	return nil
}

// runIsolated runs every group in a child process of this binary and gathers their
// results in order.
func runIsolated(ctx context.Context, scale bool) ([]bench.Result, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fedkeeper-bench-results-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var results []bench.Result
	for _, group := range groups {
		if group == "history" && !scale {
			continue
		}
		file := filepath.Join(dir, group+".json")
		cmd := exec.CommandContext(ctx, self, "-only", group, "-results", file)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("benchmark group %s: %w", group, err)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("benchmark group %s: %w", group, err)
		}
		var got []bench.Result
		if err := json.Unmarshal(data, &got); err != nil {
			return nil, fmt.Errorf("benchmark group %s: its results: %w", group, err)
		}
		results = append(results, got...)
	}
	return results, nil
}

// runGroup runs one group of benchmarks in this process.
func runGroup(ctx context.Context, group string, noop []int) ([]bench.Result, error) {
	dir, err := os.MkdirTemp("", "fedkeeper-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(os.Stderr, "%s…\n", groupTitles[group])
	switch group {
	case "fanout":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return bench.FanOut(ctx, self, filepath.Join(dir, "fabric"), []int{100, 1000})
	case "store":
		return storeBenchmarks(ctx, dir)
	case "training":
		return trainingBenchmarks(ctx, dir)
	case "history":
		root, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		long, err := longExperiment(ctx, root, dir, 500)
		if err != nil {
			return nil, fmt.Errorf("experiment of 500 rounds: %w", err)
		}
		return []bench.Result{long}, nil
	}
	root, err := repositoryRoot()
	if err != nil {
		return nil, err
	}
	switch group {
	case "clients":
		return clientBenchmarks(ctx, root, dir)
	case "rounds":
		return roundBenchmarks(ctx, root, dir, noop)
	default:
		return streamingBenchmarks(ctx, root, dir)
	}
}

var groupTitles = map[string]string{
	"fanout": "invocation fan-out", "store": "the weight store", "training": "client training, beside PyTorch",
	"clients": "a client-round in Go and in PyTorch on the embedded stack", "rounds": "whole rounds on the embedded stack",
	"streaming": "streaming aggregation: a round of 1,000 MLP clients", "history": "an experiment of 500 rounds",
}

// trainingBenchmarks measure gorgonia's training of the MLP and the CNN beside
// PyTorch's, on the same data.
func trainingBenchmarks(ctx context.Context, dir string) ([]bench.Result, error) {
	root, err := repositoryRoot()
	if err != nil {
		return nil, err
	}
	torch := bench.Torch{Python: python.DefaultInterpreter, SDK: filepath.Join(root, "python"), Dir: dir}
	_, test, err := mnist.DefaultSources()
	if err != nil {
		return nil, err
	}
	data, err := mnist.Load(ctx, test)
	if err != nil {
		return nil, err
	}
	var results []bench.Result
	for _, tc := range []struct {
		spec    model.Spec
		samples int
	}{
		{model.Spec{Kind: model.MLP, Hidden: 500}, 2000},
		{model.Spec{Kind: model.CNN}, 600},
	} {
		train, err := bench.Training(ctx, data, tc.spec, tc.samples, 10, torch)
		if err != nil {
			return nil, err
		}
		results = append(results, train)
	}
	return results, nil
}

// noopSizes reads the -noop flag: none, or positive client counts.
func noopSizes(flagValue string) ([]int, error) {
	if flagValue == "" {
		return nil, nil
	}
	var sizes []int
	for _, field := range strings.Split(flagValue, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-noop %q: want positive client counts separated by commas", flagValue)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// repositoryRoot is the working directory, which must be the repository's root: the
// experiments deploy the functions from its folders.
func repositoryRoot() (string, error) {
	root, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "functions", "openwhisk")); err != nil {
		return "", fmt.Errorf("run from the repository root (make bench): %w", err)
	}
	return root, nil
}

func storeBenchmarks(ctx context.Context, dir string) ([]bench.Result, error) {
	fmt.Fprintln(os.Stderr, "weight store and aggregation (embedded FerretDB)…")
	srv, err := mongodb.Start(ctx, mongodb.Options{Dir: filepath.Join(dir, "mongodb"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	// The embedded default (large vectors as files in the tensor directory, their
	// descriptions in FerretDB) and, for comparison, everything in FerretDB as chunks,
	// which is how a real MongoDB without a shared directory keeps them.
	var results []bench.Result
	for _, layout := range []struct {
		name, collection, tensorDir string
		target                      bool
	}{
		{"tensor files + FerretDB, the embedded default", "w", filepath.Join(dir, "tensors"), true},
		{"all in FerretDB chunks, tensor_dir: off", "c", "", false},
	} {
		store, err := weights.Connect(ctx, weights.Options{URI: srv.URI(), DB: "bench", Collection: layout.collection, TensorDir: layout.tensorDir})
		if err != nil {
			return nil, err
		}
		defer store.Close(context.Background())
		write, read, err := bench.StoreThroughput(ctx, store, dir, 500, 10)
		if err != nil {
			return nil, err
		}
		agg, err := bench.Aggregation(ctx, store, dir, 100, 500)
		if err != nil {
			return nil, err
		}
		batch := []bench.Result{agg, write, read}
		for i := range batch {
			batch[i].Name += " — " + layout.name
			if !layout.target {
				batch[i].Target, batch[i].Met = "", nil
			}
		}
		results = append(results, batch...)
	}
	return results, nil
}
