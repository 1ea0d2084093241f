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
	"os/signal"
	"path/filepath"
	"runtime/pprof"
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
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	noop := flag.String("noop", "", "with -only rounds: run only rounds of no-op clients of these sizes, comma-separated (e.g. 1000)")
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
	if err := run(ctx, *out, *scale, *only, sizes); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, scale bool, only string, noop []int) error {
	switch only {
	case "", "fanout", "store", "training", "clients", "rounds", "streaming", "history":
	default:
		return fmt.Errorf("-only %q: want fanout, store, training, clients, rounds, streaming or history", only)
	}
	want := func(group string) bool { return only == "" || only == group }
	began := time.Now()
	dir, err := os.MkdirTemp("", "fedkeeper-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []bench.Result
	step := func(name string) { fmt.Fprintf(os.Stderr, "%s…\n", name) }

	if want("fanout") {
		step("invocation fan-out")
		fan, err := bench.FanOut(ctx, self, filepath.Join(dir, "fabric"), []int{100, 1000})
		if err != nil {
			return err
		}
		results = append(results, fan...)
	}
	if want("store") {
		stored, err := storeBenchmarks(ctx, dir)
		if err != nil {
			return err
		}
		results = append(results, stored...)
	}
	if want("training") {
		step("client training, beside PyTorch")
		root, err := repositoryRoot()
		if err != nil {
			return err
		}
		torch := bench.Torch{Python: python.DefaultInterpreter, SDK: filepath.Join(root, "python"), Dir: dir}
		_, test, err := mnist.DefaultSources()
		if err != nil {
			return err
		}
		data, err := mnist.Load(ctx, test)
		if err != nil {
			return err
		}
		for _, tc := range []struct {
			spec    model.Spec
			samples int
		}{
			{model.Spec{Kind: model.MLP, Hidden: 500}, 2000},
			{model.Spec{Kind: model.CNN}, 600},
		} {
			train, err := bench.Training(ctx, data, tc.spec, tc.samples, 10, torch)
			if err != nil {
				return err
			}
			results = append(results, train)
		}
	}
	if want("clients") {
		step("a client-round in Go and in PyTorch on the embedded stack")
		root, err := repositoryRoot()
		if err != nil {
			return err
		}
		clients, err := clientBenchmarks(ctx, root, dir)
		if err != nil {
			return err
		}
		results = append(results, clients...)
	}
	if want("rounds") {
		step("whole rounds on the embedded stack")
		root, err := repositoryRoot()
		if err != nil {
			return err
		}
		rounds, err := roundBenchmarks(ctx, root, dir, noop)
		if err != nil {
			return err
		}
		results = append(results, rounds...)
	}
	if want("streaming") {
		step("streaming aggregation: a round of 1,000 MLP clients")
		root, err := repositoryRoot()
		if err != nil {
			return err
		}
		streaming, err := streamingBenchmarks(ctx, root, dir)
		if err != nil {
			return err
		}
		results = append(results, streaming...)
	}
	// A long experiment's history: with -scale, or on its own with -only history.
	if only == "history" || (only == "" && scale) {
		step("an experiment of 500 rounds")
		root, err := os.Getwd()
		if err != nil {
			return err
		}
		long, err := longExperiment(ctx, root, dir, 500)
		if err != nil {
			return fmt.Errorf("experiment of 500 rounds: %w", err)
		}
		results = append(results, long)
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
