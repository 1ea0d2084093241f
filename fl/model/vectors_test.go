package model

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
)

// logitsVector is what the Go models compute for a few test images from seeded
// weights (arch.Init), so another implementation of the models (the Python SDK's
// PyTorch modules) can check that its forward pass is the same function.
type logitsVector struct {
	Model    Spec   `json:"model"`
	InitSeed uint64 `json:"init_seed"`
	// Pixels are the images' raw bytes (784 each, base64), scaled by 1/255 as the
	// models see them.
	Pixels []byte      `json:"pixels"`
	Logits [][]float32 `json:"logits"`
}

// logitsTolerance bounds the difference of float32 sums taken in another order.
const logitsTolerance = 1e-4

// TestLogitsVectors checks testdata/protocol/logits.json against the models;
// FEDKEEPER_WRITE_VECTORS=1 writes it.
func TestLogitsVectors(t *testing.T) {
	_, testSrc, err := mnist.DefaultSources()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := mnist.LoadRaw(context.Background(), testSrc)
	if err != nil {
		t.Fatal(err)
	}
	const images = 3
	pixels := raw.Pixels[:images*inputSize]
	var vs []logitsVector
	for _, c := range []struct {
		spec Spec
		seed uint64
	}{
		{Spec{Kind: MLP, Hidden: 16}, 11},
		{Spec{Kind: CNN}, 12},
	} {
		v := logitsVector{Model: c.spec, InitSeed: c.seed, Pixels: pixels}
		v.Logits = forward(t, c.spec, c.seed, raw.Subset([]int{0, 1, 2}).Images, images)
		vs = append(vs, v)
	}
	path := filepath.Join("..", "..", "testdata", "protocol", "logits.json")
	data, _ := json.MarshalIndent(vs, "", "  ")
	data = append(data, '\n')
	if os.Getenv("FEDKEEPER_WRITE_VECTORS") != "" {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (FEDKEEPER_WRITE_VECTORS=1 writes the vectors)", err)
	}
	if bytes.Equal(stored, data) {
		return
	}
	var want []logitsVector
	if err := json.Unmarshal(stored, &want); err != nil || len(want) != len(vs) {
		t.Fatalf("logits.json: %v", err)
	}
	for i, v := range vs {
		for j, row := range v.Logits {
			for k, got := range row {
				if d := math.Abs(float64(got - want[i].Logits[j][k])); d > logitsTolerance {
					t.Errorf("%s image %d logit %d: %v, the vector has %v", v.Model.Kind, j, k, got, want[i].Logits[j][k])
				}
			}
		}
	}
}

// forward is the logits of spec with Init(seed) weights on n images.
func forward(t *testing.T, spec Spec, seed uint64, images []float32, n int) [][]float32 {
	t.Helper()
	manifest, err := spec.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	g, err := newNet(spec, manifest, Init(manifest, seed), n, false)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	g.load(images, nil, order)
	if err := g.run(); err != nil {
		t.Fatal(err)
	}
	flat := g.logitValues()
	out := make([][]float32, n)
	for i := range out {
		out[i] = append([]float32(nil), flat[i*classes:(i+1)*classes]...)
	}
	return out
}
