package sdk_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/functions/token"
	"github.com/fedkeeper/fedkeeper/sdk"
	"github.com/fedkeeper/fedkeeper/weights"
)

// The shared test vectors of docs/CLIENT-PROTOCOL.md, in testdata/protocol: every SDK
// checks its implementation against them, so the SDKs stay byte-compatible. This test
// checks the Go side; FEDKEEPER_WRITE_VECTORS=1 writes them from it (review the diff:
// a changed vector breaks every deployed client).

const vectorKey = "vector-key-0123456789"

// farFuture is the expiry of requests that must be accepted (2100-01-01).
const farFuture = 4102444800

type tokenVector struct {
	Name  string   `json:"name"`
	Key   string   `json:"key"`
	Parts []string `json:"parts"`
	Token string   `json:"token"`
}

type requestVector struct {
	Name    string          `json:"name"`
	Request json.RawMessage `json:"request"`
	// Accept says whether a client with vectorKey takes it; Error is part of the
	// refusal otherwise, Task the decoded task when accepted.
	Accept bool            `json:"accept"`
	Error  string          `json:"error,omitempty"`
	Task   json.RawMessage `json:"task,omitempty"`
}

type weightsVector struct {
	Manifest []sdk.Param `json:"manifest"`
	Values   []float32   `json:"values"`
	Data     string      `json:"data_base64"`
	SHA256   string      `json:"sha256"`
}

type layoutVector struct {
	Collection string `json:"collection"`
	// UpdateKey is the name an update's bytes are derived from; Blob is it hashed.
	Experiment string `json:"experiment"`
	Round      int    `json:"round"`
	Client     int    `json:"client"`
	Attempt    int    `json:"attempt"`
	SHA256     string `json:"sha256"`
	UpdateKey  string `json:"update_key"`
	Blob       string `json:"blob"`
	// Shard is the shared chunk collection of a small object named Blob; Chunk0 its
	// first chunk's _id; File the tensor file's name.
	Shard  string `json:"shard"`
	Chunk0 string `json:"chunk0"`
	File   string `json:"file"`
}

type partitionVector struct {
	Labels []uint8        `json:"labels"`
	Spec   partition.Spec `json:"spec"`
	Shares [][]int        `json:"shares"`
}

type pcgVector struct {
	Seed1   uint64   `json:"seed1"`
	Seed2   uint64   `json:"seed2"`
	Uint64s []uint64 `json:"uint64s"`
	Perm10  []int    `json:"perm10"`
}

func vectorPath(name string) string { return filepath.Join("..", "testdata", "protocol", name) }

// check writes v to the vector file when asked, and compares it with the file.
func check(t *testing.T, name string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if os.Getenv("FEDKEEPER_WRITE_VECTORS") != "" {
		if err := os.WriteFile(vectorPath(name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	stored, err := os.ReadFile(vectorPath(name))
	if err != nil {
		t.Fatalf("%v (FEDKEEPER_WRITE_VECTORS=1 writes the vectors)", err)
	}
	if !bytes.Equal(stored, data) {
		t.Errorf("%s differs from what the Go SDK computes: the protocol changed (write the vectors again only with a new protocol version)", name)
	}
}

func TestTokenVectors(t *testing.T) {
	var vs []tokenVector
	for _, c := range []struct {
		name  string
		parts []string
	}{
		{"no parts", nil},
		{"one part", []string{"fedkeeper"}},
		{"a separator inside a part", []string{"a|b", "1"}},
		{"the same bytes split elsewhere", []string{"a", "b|1"}},
		{"empty parts", []string{"", "x", ""}},
		{"unicode", []string{"Größe", "数据"}},
		{"an invocation", []string{"fedkeeper invocation", "1", "fl_client", "4102444800", `{"experiment":"e"}`}},
	} {
		vs = append(vs, tokenVector{Name: c.name, Key: vectorKey, Parts: c.parts, Token: token.Sign(vectorKey, c.parts...)})
	}
	check(t, "tokens.json", vs)
}

// vectorTask is a task as the keeper sends it (relayed: no store).
func vectorTask() sdk.Task {
	return sdk.Task{Experiment: "vector-exp", Round: 2, Client: 1, Attempt: 1, BaseVersion: 1,
		Model: arch.Spec{Kind: arch.MLP, Hidden: 2},
		Train: arch.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: 10, Seed: 42},
		Data:  sdk.Data{Train: mnistSource(), Partition: partition.Spec{Scheme: partition.IID, NumClients: 3, ShardsPerClient: 1, ShardSize: 4, Seed: 7}},
		Store: sdk.Store{DB: "flweights", Collection: "mnist_weights"}}
}

func TestRequestVectors(t *testing.T) {
	task := vectorTask()
	good, err := invocation.Seal(vectorKey, invocation.KindClient, task, time.Unix(farFuture, 0))
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := invocation.Seal(vectorKey, invocation.KindClient, task, time.Unix(1700000000, 0))
	other, _ := invocation.Seal("another key", invocation.KindClient, task, time.Unix(farFuture, 0))
	tampered := good
	tampered.Task = strings.Replace(good.Task, `"round":2`, `"round":3`, 1)
	withKey := withField(good, "fedkeeper_key", vectorKey)
	extra := withField(good, "note", "x")
	wrongKind, _ := invocation.Seal(vectorKey, invocation.KindAggregate, task, time.Unix(farFuture, 0))
	unknownTaskField := good
	unknownTaskField.Task = strings.Replace(good.Task, `{"experiment"`, `{"admin":true,"experiment"`, 1)
	unknownTaskField.Token = invocation.Sign(vectorKey, invocation.KindClient, farFuture, unknownTaskField.Task)
	cases := []struct {
		name   string
		req    any
		accept bool
		err    string
	}{
		{"the keeper's request", good, true, ""},
		{"expired", expired, false, "request expired"},
		{"signed with another key", other, false, "invalid token"},
		{"a changed task", tampered, false, "invalid token"},
		{"a key beside the token", withKey, false, "keys come only from the function's deployment"},
		{"an unknown field", extra, false, "unknown field"},
		{"another kind's task", wrongKind, false, "task sent to fl_client"},
		{"a task field the client does not know", unknownTaskField, false, "unknown field"},
	}
	var vs []requestVector
	for _, c := range cases {
		raw, _ := json.Marshal(c.req)
		var decoded sdk.Task
		_, err := invocation.OpenRaw(raw, vectorKey, invocation.KindClient, &decoded)
		if (err == nil) != c.accept || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: got %v, want accept %v (%q)", c.name, err, c.accept, c.err)
		}
		v := requestVector{Name: c.name, Request: raw, Accept: c.accept, Error: c.err}
		if c.accept {
			v.Task = json.RawMessage(good.Task)
			if !reflect.DeepEqual(decoded, task) {
				t.Errorf("%s: decoded %+v", c.name, decoded)
			}
		}
		vs = append(vs, v)
	}
	check(t, "requests.json", vs)
}

func withField(r invocation.Request, name, value string) map[string]any {
	data, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	m[name] = value
	return m
}

func TestWeightsVectors(t *testing.T) {
	manifest, _ := arch.Spec{Kind: arch.MLP, Hidden: 1}.Manifest()
	values := arch.Init(manifest, 5)
	values[len(values)-1] = -1.5e-40 // a subnormal, kept exactly
	data, sum := weights.Encode(values)
	decoded, err := weights.Decode(data, manifest, sum)
	if err != nil || !reflect.DeepEqual(decoded, values) {
		t.Fatalf("round trip: %v", err)
	}
	check(t, "weights.json", weightsVector{Manifest: manifest, Values: values, Data: base64.StdEncoding.EncodeToString(data), SHA256: sum})
}

func TestLayoutVectors(t *testing.T) {
	var vs []layoutVector
	for _, c := range []struct {
		client, attempt int
	}{{0, 1}, {7, 3}} {
		sum := strings.Repeat("ab", 32)
		v := layoutVector{Collection: "mnist_weights", Experiment: "vector-exp", Round: 2, Client: c.client, Attempt: c.attempt, SHA256: sum}
		v.UpdateKey, v.Blob = weights.UpdateBlob(v.Collection, v.Experiment, v.Round, v.Client, v.Attempt, sum)
		var chunk0 any
		v.Shard, chunk0 = weights.ChunkLocation(v.Collection, v.Blob, 100, 0)
		v.Chunk0 = chunk0.(string)
		v.File = weights.TensorFileName(v.Blob, sum)
		vs = append(vs, v)
	}
	check(t, "layout.json", vs)
}

func TestPartitionVectors(t *testing.T) {
	labels := make([]uint8, 40)
	for i := range labels {
		labels[i] = uint8((i * 7) % 10)
	}
	var vs []partitionVector
	for _, spec := range []partition.Spec{
		{Scheme: partition.IID, NumClients: 3, ShardsPerClient: 2, ShardSize: 5, Seed: 1},
		{Scheme: partition.NonIID, NumClients: 4, ShardsPerClient: 2, ShardSize: 4, Seed: 2},
		{Scheme: partition.Dirichlet, NumClients: 3, ShardsPerClient: 1, ShardSize: 10, Seed: 3, Alpha: 0.5},
	} {
		shares, err := partition.Split(labels, spec)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, partitionVector{Labels: labels, Spec: spec, Shares: shares})
	}
	check(t, "partition.json", vs)
	var pcg []pcgVector
	for _, seed := range [][2]uint64{{1, 0x5eed5a3d}, {42, 0xd9}, {1<<63 + 5, 3}} {
		r := rand.New(rand.NewPCG(seed[0], seed[1]))
		v := pcgVector{Seed1: seed[0], Seed2: seed[1]}
		for range 4 {
			v.Uint64s = append(v.Uint64s, r.Uint64())
		}
		v.Perm10 = r.Perm(10)
		pcg = append(pcg, v)
	}
	check(t, "pcg.json", pcg)
}

// mnistSource is a fixed training split's location, as a task names it.
func mnistSource() sdk.Source {
	return sdk.Source{ImagesURL: "file:///data/train-images-idx3-ubyte.gz", LabelsURL: "file:///data/train-labels-idx1-ubyte.gz"}
}
