package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// gorandVector is a seeded rand.Rand's draws, the methods FedKeeper's partitioner,
// attacks and initial values use, for the Python port to reproduce exactly.
type gorandVector struct {
	Seed1 uint64 `json:"seed1"`
	Seed2 uint64 `json:"seed2"`
	// IntN[i] is IntN(Bounds[i]) and Uint64N[i] Uint64N(Bounds64[i]), drawn in turn.
	Bounds   []int     `json:"bounds"`
	IntN     []int     `json:"intn"`
	Bounds64 []uint64  `json:"bounds64"`
	Uint64N  []uint64  `json:"uint64n"`
	Float64s []float64 `json:"float64s"`
	Normals  []float64 `json:"normals"`
	// NormalsSHA256 is the SHA-256 of the next NormalCount NormFloat64 draws as
	// little-endian float64 bits: enough draws to take every path of the ziggurat.
	NormalCount   int    `json:"normal_count"`
	NormalsSHA256 string `json:"normals_sha256"`
	Perm          []int  `json:"perm"`
}

const normalCount = 200000

func drawVector(seed1, seed2 uint64) gorandVector {
	r := rand.New(rand.NewPCG(seed1, seed2))
	v := gorandVector{Seed1: seed1, Seed2: seed2, NormalCount: normalCount,
		Bounds:   []int{1, 2, 3, 10, 1000, 1 << 20, 1<<40 + 1, math.MaxInt64},
		Bounds64: []uint64{1<<63 + 7, math.MaxUint64, 1 << 63, 3 << 62}}
	for _, n := range v.Bounds {
		v.IntN = append(v.IntN, r.IntN(n))
	}
	for _, n := range v.Bounds64 {
		v.Uint64N = append(v.Uint64N, r.Uint64N(n))
	}
	for range 5 {
		v.Float64s = append(v.Float64s, r.Float64())
	}
	for range 10 {
		v.Normals = append(v.Normals, r.NormFloat64())
	}
	h := sha256.New()
	var b [8]byte
	for range normalCount {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(r.NormFloat64()))
		h.Write(b[:])
	}
	v.NormalsSHA256 = hex.EncodeToString(h.Sum(nil))
	v.Perm = r.Perm(25)
	return v
}

// TestGoRandVectors checks testdata/protocol/gorand.json against math/rand/v2;
// FEDKEEPER_WRITE_VECTORS=1 writes it.
func TestGoRandVectors(t *testing.T) {
	var vs []gorandVector
	for _, s := range [][2]uint64{{1, 2}, {42, 0xd9}, {1<<63 + 5, 0x5eed5a3d}} {
		vs = append(vs, drawVector(s[0], s[1]))
	}
	data, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	path := filepath.Join("..", "..", "testdata", "protocol", "gorand.json")
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
	if !bytes.Equal(stored, data) {
		t.Error("gorand.json differs from math/rand/v2's draws: Go changed its generator, and the partitions with it")
	}
}
