package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/functions/flserver"
	"github.com/fedkeeper/fedkeeper/weights"
)

// randomParams fills a parameter vector of the model.
func randomParams(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := make([]float32, n)
	for i := range p {
		p[i] = rng.Float32() - 0.5
	}
	return p
}

// Aggregation measures FedAvg of `clients` MLP updates end to end through the weight
// store (read every update, average, write the next global version) against reading
// the same bytes from files, averaging them the same way and writing one file.
func Aggregation(ctx context.Context, store *weights.Store, dir string, clients, hidden int) (Result, error) {
	spec := model.Spec{Kind: model.MLP, Hidden: hidden}
	manifest, err := spec.Manifest()
	if err != nil {
		return Result{}, err
	}
	n := model.NumParams(manifest)
	experiment := fmt.Sprintf("bench-aggregate-%d", time.Now().UnixNano())
	if _, err := store.PutGlobal(ctx, weights.Global{Experiment: experiment, Version: 0, Manifest: manifest, Params: randomParams(n, 0)}); err != nil {
		return Result{}, err
	}
	ids := make([]int, clients)
	files := make([]string, clients)
	for c := range clients {
		ids[c] = c
		params := randomParams(n, uint64(c+1))
		if _, err := store.PutUpdate(ctx, weights.Update{Experiment: experiment, Round: 1, Client: c, BaseVersion: 0,
			Samples: 600, Manifest: manifest, Params: params}); err != nil {
			return Result{}, err
		}
		files[c] = filepath.Join(dir, fmt.Sprintf("update-%d.bin", c))
		if err := os.WriteFile(files[c], encoded(params), 0o600); err != nil {
			return Result{}, err
		}
	}

	start := time.Now()
	res, err := flserver.Aggregate(ctx, store, flserver.AggregateParams{Experiment: experiment, Round: 1, BaseVersion: 0,
		Clients: ids, Model: spec}, nil)
	if err != nil {
		return Result{}, fmt.Errorf("bench: aggregate: %w", err)
	}
	ours := time.Since(start).Seconds()
	if len(res.Counted) != clients {
		return Result{}, fmt.Errorf("bench: aggregation counted %d of %d updates (%v)", len(res.Counted), clients, res.Rejected)
	}

	start = time.Now()
	sum := make([]float64, n)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return Result{}, err
		}
		for i := range n {
			sum[i] += 600 * float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
		}
	}
	avg := make([]float32, n)
	for i, v := range sum {
		avg[i] = float32(v / float64(600*clients))
	}
	if err := os.WriteFile(filepath.Join(dir, "global.bin"), encoded(avg), 0o600); err != nil {
		return Result{}, err
	}
	raw := time.Since(start).Seconds()
	mb := float64(4*n) / 1e6
	r := Result{Name: fmt.Sprintf("aggregation of %d MLP updates (%.1f MB each)", clients, mb), Value: ours, Baseline: raw,
		Unit: "s", Lower: true, BaselineName: "read the files, average, write one", Target: "≤ 0.5 s"}
	r.Met = Met(ours <= 0.5)
	return r, nil
}

// StoreThroughput measures writing and reading global versions of `mb` megabytes
// through the weight store, against plain files of the same bytes.
func StoreThroughput(ctx context.Context, store *weights.Store, dir string, hidden, versions int) (write, read Result, err error) {
	spec := model.Spec{Kind: model.MLP, Hidden: hidden}
	manifest, err := spec.Manifest()
	if err != nil {
		return Result{}, Result{}, err
	}
	n := model.NumParams(manifest)
	params := randomParams(n, 9)
	mb := float64(4*n*versions) / 1e6
	experiment := fmt.Sprintf("bench-store-%d", time.Now().UnixNano())

	start := time.Now()
	for v := range versions {
		if _, err := store.PutGlobal(ctx, weights.Global{Experiment: experiment, Version: v, Manifest: manifest, Params: params}); err != nil {
			return Result{}, Result{}, err
		}
	}
	oursWrite := mb / time.Since(start).Seconds()
	start = time.Now()
	for v := range versions {
		if _, err := store.GetGlobal(ctx, experiment, v); err != nil {
			return Result{}, Result{}, err
		}
	}
	oursRead := mb / time.Since(start).Seconds()

	data := encoded(params)
	start = time.Now()
	for v := range versions {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("v%d.bin", v)), data, 0o600); err != nil {
			return Result{}, Result{}, err
		}
	}
	rawWrite := mb / time.Since(start).Seconds()
	start = time.Now()
	for v := range versions {
		if _, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("v%d.bin", v))); err != nil {
			return Result{}, Result{}, err
		}
	}
	rawRead := mb / time.Since(start).Seconds()
	size := float64(4*n) / 1e6
	write = Result{Name: fmt.Sprintf("weight store write (%d versions of %.1f MB)", versions, size), Value: oursWrite, Baseline: rawWrite,
		Unit: "MB/s", BaselineName: "plain file writes"}
	read = Result{Name: fmt.Sprintf("weight store read (%d versions of %.1f MB)", versions, size), Value: oursRead, Baseline: rawRead,
		Unit: "MB/s", BaselineName: "plain file reads"}
	return write, read, nil
}

// encoded is the store's own byte layout (little-endian float32), so both sides move
// the same bytes.
func encoded(params []float32) []byte {
	data, _ := weights.Encode(params)
	return data
}
