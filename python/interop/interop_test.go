package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/sdk"
	"github.com/fedkeeper/fedkeeper/weights"
)

// python is the interpreter the Debian packages the SDK needs are installed for (the
// python3 first on PATH may be another build that does not see them).
const python = "/usr/bin/python3"

const install = "apt-get install -y python3-numpy python3-pymongo python3-flask python3-torch libopenblas0-pthread"

// requirePython fails the test, in one line, when the interpreter or a package the
// Python SDK's tests need is missing: they are never skipped.
func requirePython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the Python SDK's tests need %s: %s", python, install)
	}
	out, err := exec.Command(python, "-c", "import numpy, pymongo, flask, torch").CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Fatalf("the Python SDK's tests need numpy, pymongo, flask and torch for %s (%s): %s", python, lines[len(lines)-1], install)
	}
}

// pythonEnv is this process's environment for the Python side, without any
// deployment setting the machine may have (the tests deploy their own).
func pythonEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "FEDKEEPER_") })
	return append(env, "FEDKEEPER_SECRETS_DIR=/nonexistent-fedkeeper-secrets", "PYTHONDONTWRITEBYTECODE=1")
}

func startStore(t *testing.T) string {
	t.Helper()
	srv, err := mongodb.Start(context.Background(), mongodb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv.URI()
}

// TestPythonSDK runs the Python SDK's own tests (python/tests) against an embedded
// store; they fail this test with their output, and a skipped one fails it too.
func TestPythonSDK(t *testing.T) {
	requirePython(t)
	uri := startStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "unittest", "discover", "-s", "tests", "-t", ".")
	cmd.Dir = ".."
	cmd.Env = append(pythonEnv(), "FEDKEEPER_TEST_MONGO_URI="+uri)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Python SDK's tests failed (%v):\n%s", err, out)
	}
	summary := strings.TrimSpace(string(out))
	if strings.Contains(summary, "skipped") || !strings.Contains(summary, "\nOK") {
		t.Fatalf("the Python SDK's tests did not all run:\n%s", out)
	}
	t.Log(summary[strings.LastIndex(summary, "Ran "):])
}

// crossCase is one request the Python SDK serves, and what the Go side expects.
type crossCase struct {
	name  string
	store *weights.Store // nil: relayed
	task  sdk.Task
	// v is the global model the task names; inline is set for a relayed task.
	v      []float32
	inline bool
	// refused is part of the expected error; "" for a stored (or answered) update.
	refused string
}

// crossEnv is the Go side of the cross-language test: its stores, with the global
// versions it wrote, and the training split every task names.
type crossEnv struct {
	uri, tensorDir string
	plain, files   *weights.Store
	src            mnist.Source
	raw            *mnist.Raw
	globals        map[string][]float32
	// trainer is the Python driver's train function: "" adds 0.25, "mclr" trains.
	trainer string
}

func newCrossEnv(t *testing.T) *crossEnv {
	t.Helper()
	ctx := context.Background()
	e := &crossEnv{uri: startStore(t), tensorDir: t.TempDir(), globals: map[string][]float32{}}
	var err error
	if e.plain, err = weights.Connect(ctx, weights.Options{URI: e.uri, DB: "interop", Collection: "w"}); err != nil {
		t.Fatal(err)
	}
	if e.files, err = weights.Connect(ctx, weights.Options{URI: e.uri, DB: "interop", Collection: "wf", TensorDir: e.tensorDir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.plain.Close(ctx); _ = e.files.Close(ctx) })
	if e.src, _, err = mnist.DefaultSources(); err != nil {
		t.Fatal(err)
	}
	if e.raw, err = mnist.LoadRaw(ctx, e.src); err != nil {
		t.Fatal(err)
	}
	return e
}

// putGlobal stores a seeded global version the Go way and remembers its values.
func (e *crossEnv) putGlobal(t *testing.T, s *weights.Store, experiment string, version int, spec arch.Spec) {
	t.Helper()
	manifest, _ := spec.Manifest()
	v := arch.Init(manifest, uint64(version)+7)
	if _, err := s.PutGlobal(context.Background(), weights.Global{Experiment: experiment, Version: version, Manifest: manifest, Params: v}); err != nil {
		t.Fatal(err)
	}
	e.globals[experiment] = v
}

func (e *crossEnv) task(experiment, collection string, round, client, attempt, base int, spec arch.Spec, part partition.Spec) sdk.Task {
	return sdk.Task{Experiment: experiment, Round: round, Client: client, Attempt: attempt, BaseVersion: base, Model: spec,
		Train: arch.TrainOptions{Optimizer: "sgd", LR: 0.1, Epochs: 1, BatchSize: 10, Seed: uint64(client) + 40},
		Data:  sdk.Data{Train: e.src, Partition: part}, Store: sdk.Store{DB: "interop", Collection: collection}}
}

// TestCrossLanguage: the Python SDK serves requests the Go keeper's code sealed, reads
// global versions Go's weight store wrote (from a shared chunk collection, a collection
// of their own and a tensor file), trains on the data share Go's partitioner gives its
// client, and stores updates that Go's weight store reads back intact, with Go's
// precedence of attempts and closed rounds; a relayed update decodes with Go's codec.
func TestCrossLanguage(t *testing.T) {
	requirePython(t)
	e := newCrossEnv(t)
	ctx := context.Background()
	small, large := arch.Spec{Kind: arch.MLP, Hidden: 2}, arch.Spec{Kind: arch.MLP, Hidden: 100}
	cnn := arch.Spec{Kind: arch.CNN}
	e.putGlobal(t, e.plain, "small", 0, small) // 6,400 bytes: a shared chunk collection
	e.putGlobal(t, e.plain, "large", 1, large) // 318,040 bytes: a collection of its own
	e.putGlobal(t, e.files, "cnn", 0, cnn)     // 2.3 MB: a tensor file
	nonIID := partition.Spec{Scheme: partition.NonIID, NumClients: 10, ShardsPerClient: 2, ShardSize: 30, Seed: 3}
	iid := partition.Spec{Scheme: partition.IID, NumClients: 4, ShardsPerClient: 1, ShardSize: 25, Seed: 1}
	dirichlet := partition.Spec{Scheme: partition.Dirichlet, NumClients: 5, ShardsPerClient: 1, ShardSize: 40, Seed: 2, Alpha: 0.5}

	// Go stores attempt 2 of small's client 1, and closes small's round 2; round 3 is
	// a semi-asynchronous round whose aggregation consumed client 5's update.
	manifest, _ := small.Manifest()
	goParams := slices.Clone(e.globals["small"])
	goParams[0] += 1
	if _, err := e.plain.PutUpdate(ctx, weights.Update{Experiment: "small", Round: 1, Client: 1, Attempt: 2, Samples: 1,
		Manifest: manifest, Params: goParams}); err != nil {
		t.Fatal(err)
	}
	_, goSum := weights.Encode(goParams)
	if err := e.plain.SealRound(ctx, "small", 2); err != nil {
		t.Fatal(err)
	}
	if err := e.plain.SealRound(ctx, "small", 3); err != nil {
		t.Fatal(err)
	}
	if err := e.plain.MarkConsumed(ctx, "small", 3, []int{5}); err != nil {
		t.Fatal(err)
	}

	private := e.task("small", "w", 1, 4, 1, 0, small, nonIID)
	private.Privacy = privacy.Mechanism{Clip: 1, NoiseMultiplier: 0.0001}
	// Seed 1 makes client 6 of 10 an attacker, and 7 to 9 honest.
	scale := attack.Spec{Kind: attack.Scale, Fraction: 0.3, Factor: -10, Seed: 1}
	if bad := scale.Malicious(10); !bad[6] || bad[7] || bad[8] || bad[9] {
		t.Fatalf("the attackers are %v", bad)
	}
	late := func(client int) sdk.Task {
		tk := e.task("small", "w", 3, client, 1, 0, small, nonIID)
		tk.AcceptLate = true
		return tk
	}
	relayed := e.task("small", "", 1, 5, 1, 0, small, nonIID)
	relayed.Store = sdk.Store{}
	named := func(client int, sum string) sdk.Task {
		tk := e.task("large", "w", 1, client, 1, 1, large, iid)
		tk.BaseSHA256 = sum
		return tk
	}
	_, largeSum := weights.Encode(e.globals["large"])
	cases := []crossCase{
		{name: "a shared chunk collection, client 0", store: e.plain, task: e.task("small", "w", 1, 0, 1, 0, small, nonIID)},
		{name: "a collection of its own", store: e.plain, task: e.task("large", "w", 1, 3, 2, 1, large, iid)},
		{name: "a tensor file", store: e.files, task: e.task("cnn", "wf", 1, 2, 1, 0, cnn, dirichlet)},
		{name: "relayed", task: relayed, inline: true},
		{name: "an attempt older than Go's", store: e.plain, task: e.task("small", "w", 1, 1, 1, 0, small, nonIID), refused: "a later attempt's update is stored"},
		{name: "a later attempt than Go's", store: e.plain, task: e.task("small", "w", 1, 1, 3, 0, small, nonIID)},
		{name: "a sealed round", store: e.plain, task: e.task("small", "w", 2, 0, 1, 0, small, nonIID), refused: "the round is already aggregated"},
		{name: "a late update", store: e.plain, task: late(4)},
		{name: "a late update consumed already", store: e.plain, task: late(5), refused: "the round is already aggregated"},
		{name: "privacy", store: e.plain, task: private},
		{name: "the global named by its checksum", store: e.plain, task: named(0, largeSum)},
		{name: "a global of other content than the task names", store: e.plain, task: named(1, strings.Repeat("0", 64)), refused: "the task names"},
	}
	for c := 6; c < 10; c++ {
		tk := e.task("small", "w", 1, c, 1, 0, small, nonIID)
		tk.Attack = scale
		cases = append(cases, crossCase{name: fmt.Sprintf("attack, client %d", c), store: e.plain, task: tk})
	}
	for i := range cases {
		cases[i].v = e.globals[cases[i].task.Experiment]
	}
	answers, shares := e.servePython(t, cases)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := answers[i]
			if c.refused != "" {
				if a.Status != 500 || !strings.Contains(a.Body.Error, c.refused) {
					t.Fatalf("answered %d %+v, want a refusal with %q", a.Status, a.Body, c.refused)
				}
				return
			}
			if a.Status != 200 {
				t.Fatalf("answered %d: %s", a.Status, a.Body.Error)
			}
			share := e.share(t, c.task)
			if got := shares[fmt.Sprintf("%s/r%d/c%d/a%d", c.task.Experiment, c.task.Round, c.task.Client, c.task.Attempt)]; got != share.digest {
				t.Errorf("the Python client trained on share %s, Go's partitioner gives %s", got, share.digest)
			}
			if a.Body.Samples != share.n || a.Body.Loss != share.weighted || a.Body.Client != c.task.Client || a.Body.Attempt != c.task.Attempt {
				t.Errorf("result %+v, want %d samples and loss %v", a.Body, share.n, share.weighted)
			}
			params := e.reported(t, c, a)
			e.checkValues(t, c, params)
		})
	}
	t.Run("Go's replaced attempt", func(t *testing.T) {
		_, blob := weights.UpdateBlob("w", "small", 1, 1, 2, goSum)
		e.expectNoChunk(t, "w", blob, 4*len(goParams))
		if _, err := e.plain.GetUpdate(ctx, "small", 2, 0); !errors.Is(err, weights.ErrNotFound) {
			t.Errorf("the sealed round's update: %v, want not found", err)
		}
	})
	t.Run("the keeper's aggregation reads them", func(t *testing.T) {
		var clients []int
		err := e.plain.EachUpdate(ctx, "small", 1, nil, func(client int, u weights.Update, err error) error {
			if err != nil {
				return err
			}
			clients = append(clients, client)
			return nil
		})
		if err != nil || !slices.Equal(clients, []int{0, 1, 4, 6, 7, 8, 9}) {
			t.Errorf("EachUpdate saw clients %v (%v)", clients, err)
		}
	})
	t.Run("the description is the Go store's", func(t *testing.T) {
		// Go writes the same update for another experiment; field for field alike.
		u, _ := e.plain.GetUpdate(ctx, "small", 1, 0)
		u.Experiment = "small-go"
		if _, err := e.plain.PutUpdate(ctx, u); err != nil {
			t.Fatal(err)
		}
		py, goDoc := e.rawDoc(t, "w_updates", "small/r1/c0"), e.rawDoc(t, "w_updates", "small-go/r1/c0")
		if !slices.Equal(keys(py), keys(goDoc)) {
			t.Errorf("Python wrote the fields %v, Go writes %v", keys(py), keys(goDoc))
		}
		for _, k := range keys(goDoc) {
			if k != "_id" && k != "experiment" && k != "created" && k != "blob" && !bytes.Equal(py.Lookup(k).Value, goDoc.Lookup(k).Value) {
				t.Errorf("field %s: Python wrote %v, Go %v", k, py.Lookup(k), goDoc.Lookup(k))
			}
		}
	})
}

// answer is one of the Python client's answers.
type answer struct {
	Status int `json:"status"`
	Body   struct {
		sdk.Result
		Error string `json:"error"`
	} `json:"body"`
}

// servePython has the Python SDK serve the cases' requests, sealed here.
func (e *crossEnv) servePython(t *testing.T, cases []crossCase) ([]answer, map[string]string) {
	t.Helper()
	const key = "interop-key"
	type item struct {
		TensorDir string             `json:"tensor_dir"`
		Request   invocation.Request `json:"request"`
	}
	var requests []item
	for _, c := range cases {
		tk := c.task
		var inline *invocation.Weights
		if c.inline {
			data, sum := weights.Encode(c.v)
			tk.InlineSHA256, inline = sum, &invocation.Weights{Data: data, Checksum: sum}
		}
		req, err := invocation.Seal(key, invocation.KindClient, tk, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		req.Inline = inline
		dir := ""
		if c.store == e.files {
			dir = e.tensorDir
		}
		requests = append(requests, item{TensorDir: dir, Request: req})
	}
	in, _ := json.Marshal(map[string]any{"key": key, "mongo_uri": e.uri, "requests": requests, "trainer": e.trainer})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "tests.crosslang")
	cmd.Dir = ".."
	cmd.Env = pythonEnv()
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the Python client failed (%v):\n%s", err, stderr.String())
	}
	var got struct {
		Answers []answer          `json:"answers"`
		Shares  map[string]string `json:"shares"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got.Answers) != len(cases) {
		t.Fatalf("the Python client answered %s (%v)", out, err)
	}
	return got.Answers, got.Shares
}

// share is what Go's partitioner gives a task's client: its digest (as the Python
// driver computes it), size and the weighted sum of its labels.
type share struct {
	digest   string
	n        int
	weighted float64
}

func (e *crossEnv) share(t *testing.T, tk sdk.Task) share {
	t.Helper()
	parts, err := partition.Split(e.raw.Labels, tk.Data.Partition)
	if err != nil {
		t.Fatal(err)
	}
	idx := parts[tk.Client]
	h := sha256.New()
	labels := make([]byte, len(idx))
	weighted := 0
	for j, i := range idx {
		h.Write(e.raw.Pixels[i*mnist.Pixels : (i+1)*mnist.Pixels])
		labels[j] = e.raw.Labels[i]
		weighted += int(labels[j]) * (j + 1)
	}
	h.Write(labels)
	return share{digest: hex.EncodeToString(h.Sum(nil)), n: len(idx), weighted: float64(weighted)}
}

// reported is the update a case's client reported: read back with Go's store, or
// decoded from a relayed answer.
func (e *crossEnv) reported(t *testing.T, c crossCase, a answer) []float32 {
	t.Helper()
	manifest, _ := c.task.Model.Manifest()
	if c.inline {
		if a.Body.Update == nil {
			t.Fatal("a relayed answer without its update")
		}
		params, err := weights.Decode(a.Body.Update.Data, manifest, a.Body.Update.Checksum)
		if err != nil {
			t.Fatal(err)
		}
		return params
	}
	u, err := c.store.GetUpdate(context.Background(), c.task.Experiment, c.task.Round, c.task.Client)
	if err != nil {
		t.Fatal(err)
	}
	if u.Attempt != c.task.Attempt || u.BaseVersion != c.task.BaseVersion || u.Samples != a.Body.Samples || u.Loss != a.Body.Loss || !arch.SameManifest(u.Manifest, manifest) {
		t.Errorf("Go read attempt %d, base v%d, %d samples, loss %v", u.Attempt, u.BaseVersion, u.Samples, u.Loss)
	}
	return u.Params
}

// checkValues compares an update with the driver's training (the global model plus
// 0.25) as the task's attack or privacy changes it.
func (e *crossEnv) checkValues(t *testing.T, c crossCase, got []float32) {
	t.Helper()
	malicious := c.task.Attack.On() && c.task.Attack.Malicious(c.task.Data.Partition.NumClients)[c.task.Client]
	norm := 0.0
	for i, g := range c.v {
		trained := g + 0.25
		want := trained
		if malicious {
			want = float32(float64(g) + (float64(trained)-float64(g))*c.task.Attack.Factor)
		}
		if c.task.Privacy.On() {
			d := float64(got[i]) - float64(g)
			norm += d * d
			continue
		}
		if got[i] != want {
			t.Fatalf("value %d is %v, want %v (global %v)", i, got[i], want, g)
		}
	}
	if c.task.Privacy.On() && math.Abs(math.Sqrt(norm)-c.task.Privacy.Clip) > 0.02 {
		t.Errorf("the private update moved by %v, want about the clip %v", math.Sqrt(norm), c.task.Privacy.Clip)
	}
}

// expectNoChunk fails unless the small object blob's first chunk is gone.
func (e *crossEnv) expectNoChunk(t *testing.T, prefix, blob string, size int) {
	t.Helper()
	coll, id := weights.ChunkLocation(prefix, blob, size, 0)
	n, err := e.mongo(t).Database("interop").Collection(coll).CountDocuments(context.Background(), bson.M{"_id": id})
	if err != nil || n != 0 {
		t.Errorf("%s still holds %v (%d, %v)", coll, id, n, err)
	}
}

func (e *crossEnv) mongo(t *testing.T) *mongo.Client {
	t.Helper()
	client, err := mongo.Connect(context.Background(), options.Client().ApplyURI(e.uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

func (e *crossEnv) rawDoc(t *testing.T, collection, id string) bson.Raw {
	t.Helper()
	raw, err := e.mongo(t).Database("interop").Collection(collection).FindOne(context.Background(), bson.M{"_id": id}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func keys(doc bson.Raw) []string {
	elems, _ := doc.Elements()
	out := make([]string, len(elems))
	for i, el := range elems {
		out[i] = el.Key()
	}
	return out
}
