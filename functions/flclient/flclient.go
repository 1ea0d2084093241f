// Package flclient is the body of the fl_client function: it reads the global model of
// the round from MongoDB, trains it on the client's share of the data and writes the
// update back, keyed by experiment, round and client. A warm instance keeps its data,
// partitions and database connection between invocations.
package flclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/functions/token"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Params is one invocation's input.
type Params struct {
	Experiment  string             `json:"experiment"`
	Round       int                `json:"round"`
	Client      int                `json:"client"`
	BaseVersion int                `json:"base_version"`
	Model       model.Spec         `json:"model"`
	Train       model.TrainOptions `json:"train"`
	Data        Data               `json:"data"`
	// Mongo locates the weights; empty when they travel inline.
	Mongo Mongo `json:"mongo"`
	// Inline carries the global model in the request (for clients that cannot reach
	// MongoDB); the update then comes back in the result.
	Inline *Weights `json:"inline,omitempty"`
	// Token proves the call comes from the experiment's keeper (see package token).
	Token string `json:"token"`
	// Key is the token key an OpenWhisk action is deployed with (a default parameter);
	// the keeper never sends it.
	Key string `json:"fedkeeper_key,omitempty"`
	// Privacy clips the update and adds noise before it is reported (local DP).
	Privacy privacy.Mechanism `json:"privacy,omitzero"`
	// Attack makes this client report a malicious update if it is one of the
	// experiment's attackers (for testing robust strategies).
	Attack attack.Spec `json:"attack,omitzero"`
	// AcceptLate stores the update even if the round was aggregated meanwhile: a
	// semi-asynchronous round folds it into a later version.
	AcceptLate bool `json:"accept_late,omitempty"`
}

// TokenParts are what a client's token signs.
func (p Params) TokenParts() []any {
	return []any{"client", p.Experiment, p.Round, p.Client, p.BaseVersion}
}

// Weights are parameters in transit: float32 little-endian bytes (base64 in JSON) with
// their SHA-256.
type Weights struct {
	Data     []byte `json:"data"`
	Checksum string `json:"sha256"`
}

// Data says where the training split is and how it is partitioned.
type Data struct {
	Train     mnist.Source   `json:"train"`
	Partition partition.Spec `json:"partition"`
}

// Mongo locates the weight store.
type Mongo struct {
	URI        string `json:"uri"`
	DB         string `json:"db"`
	Collection string `json:"collection"`
	// TensorDir is the store's tensor directory (weights.Options), "" for none.
	TensorDir string `json:"tensor_dir,omitempty"`
}

// StoreOptions are the weight store's options for m.
func (m Mongo) StoreOptions() weights.Options {
	return weights.Options{URI: m.URI, DB: m.DB, Collection: m.Collection, TensorDir: m.TensorDir}
}

// Result is what the function returns; the parameters themselves go to MongoDB.
type Result struct {
	Experiment   string  `json:"experiment"`
	Round        int     `json:"round"`
	Client       int     `json:"client"`
	BaseVersion  int     `json:"base_version"`
	Samples      int     `json:"samples"`
	Loss         float64 `json:"loss"`
	TrainSeconds float64 `json:"train_seconds"`
	LoadSeconds  float64 `json:"load_seconds"`
	WarmData     bool    `json:"warm_data"`
	// Update is the trained model, for inline requests only.
	Update *Weights `json:"update,omitempty"`
}

func (p Params) validate() error {
	switch {
	case p.Experiment == "":
		return errors.New("experiment is missing")
	case p.Round < 1:
		return fmt.Errorf("round must be at least 1, got %d", p.Round)
	case p.Client < 0 || p.Client >= p.Data.Partition.NumClients:
		return fmt.Errorf("client %d is outside 0..%d", p.Client, p.Data.Partition.NumClients-1)
	case p.BaseVersion < 0:
		return fmt.Errorf("base_version must not be negative, got %d", p.BaseVersion)
	case p.Inline == nil && (p.Mongo.URI == "" || p.Mongo.DB == "" || p.Mongo.Collection == ""):
		return errors.New("mongo uri, db and collection are required (or inline weights)")
	case p.Data.Train.ImagesURL == "" || p.Data.Train.LabelsURL == "":
		return errors.New("data.train images_url and labels_url are required")
	}
	return nil
}

// Function keeps what a warm instance reuses.
type Function struct {
	mu         sync.Mutex
	stores     map[Mongo]*weights.Store
	data       map[mnist.Source]*mnist.Raw
	partitions map[partitionKey][][]int
}

type partitionKey struct {
	src  mnist.Source
	spec partition.Spec
}

// New returns a cold function instance.
func New() *Function {
	return &Function{stores: map[Mongo]*weights.Store{}, data: map[mnist.Source]*mnist.Raw{}, partitions: map[partitionKey][][]int{}}
}

// Handle is the actionloop handler.
func (f *Function) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var p Params
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("fl_client: bad parameters: %w", err)
	}
	return f.Run(ctx, p)
}

// Run trains one client for one round.
func (f *Function) Run(ctx context.Context, p Params) (Result, error) {
	if err := p.validate(); err != nil {
		return Result{}, fmt.Errorf("fl_client: %w", err)
	}
	if err := token.Verify(token.Key(p.Key), p.Token, p.TokenParts()...); err != nil {
		return Result{}, fmt.Errorf("fl_client: %w", err)
	}
	// Invocations of one instance never overlap (concurrency 1), but keep the caches
	// safe for hosts that run several.
	f.mu.Lock()
	defer f.mu.Unlock()

	loadStart := time.Now()
	local, warm, err := f.localData(ctx, p)
	if err != nil {
		return Result{}, fmt.Errorf("fl_client: client %d: %w", p.Client, err)
	}
	manifest, err := p.Model.Manifest()
	if err != nil {
		return Result{}, fmt.Errorf("fl_client: %w", err)
	}
	var params []float32
	var store *weights.Store
	if p.Inline != nil {
		if params, err = weights.Decode(p.Inline.Data, manifest, p.Inline.Checksum); err != nil {
			return Result{}, fmt.Errorf("fl_client: inline global model: %w", err)
		}
	} else {
		if store, err = f.store(ctx, p.Mongo); err != nil {
			return Result{}, fmt.Errorf("fl_client: %w", err)
		}
		global, err := store.GetGlobal(ctx, p.Experiment, p.BaseVersion)
		if err != nil {
			return Result{}, fmt.Errorf("fl_client: read the global model: %w", err)
		}
		if !model.SameManifest(manifest, global.Manifest) {
			return Result{}, fmt.Errorf("fl_client: stored global v%d is not a %s model", p.BaseVersion, p.Model.Kind)
		}
		params = global.Params
	}
	loadSeconds := time.Since(loadStart).Seconds()

	trainStart := time.Now()
	var start []float32 // the global model, kept where the update is changed afterwards
	malicious := p.Attack.On() && p.Attack.Malicious(p.Data.Partition.NumClients)[p.Client]
	if malicious || p.Privacy.On() {
		start = append([]float32(nil), params...)
	}
	res, err := model.Train(ctx, p.Model, params, local.Images, local.Labels, p.Train)
	if err != nil {
		return Result{}, fmt.Errorf("fl_client: client %d: %w", p.Client, err)
	}
	trainSeconds := time.Since(trainStart).Seconds()
	// Seeded by the client's own training seed: the same attempt reports the same update.
	rng := rand.New(rand.NewPCG(p.Train.Seed, 0xd9))
	switch {
	case malicious:
		if err := p.Attack.Apply(start, params, rng); err != nil {
			return Result{}, fmt.Errorf("fl_client: %w", err)
		}
	case p.Privacy.On():
		if _, err := p.Privacy.Apply(start, params, rng); err != nil {
			return Result{}, fmt.Errorf("fl_client: %w", err)
		}
	}

	var update *Weights
	if store != nil {
		err = store.PutUpdate(ctx, weights.Update{
			Experiment: p.Experiment, Round: p.Round, Client: p.Client, BaseVersion: p.BaseVersion,
			Samples: res.Samples, Loss: res.Loss, Manifest: manifest, Params: params, AcceptLate: p.AcceptLate,
		})
		if err != nil {
			return Result{}, fmt.Errorf("fl_client: %w", err)
		}
	} else {
		data, sum := weights.Encode(params)
		update = &Weights{Data: data, Checksum: sum}
	}
	return Result{
		Experiment: p.Experiment, Round: p.Round, Client: p.Client, BaseVersion: p.BaseVersion,
		Samples: res.Samples, Loss: res.Loss, TrainSeconds: trainSeconds, LoadSeconds: loadSeconds, WarmData: warm,
		Update: update,
	}, nil
}

// localData returns the client's examples, loading and partitioning the split on the
// instance's first use.
func (f *Function) localData(ctx context.Context, p Params) (*mnist.Dataset, bool, error) {
	warm := true
	raw, ok := f.data[p.Data.Train]
	if !ok {
		warm = false
		var err error
		if raw, err = mnist.LoadRaw(ctx, p.Data.Train); err != nil {
			return nil, false, err
		}
		f.data[p.Data.Train] = raw
	}
	key := partitionKey{p.Data.Train, p.Data.Partition}
	parts, ok := f.partitions[key]
	if !ok {
		var err error
		if parts, err = partition.Split(raw.Labels, p.Data.Partition); err != nil {
			return nil, false, err
		}
		f.partitions[key] = parts
	}
	return raw.Subset(parts[p.Client]), warm, nil
}

func (f *Function) store(ctx context.Context, m Mongo) (*weights.Store, error) {
	if s, ok := f.stores[m]; ok {
		return s, nil
	}
	s, err := weights.Connect(ctx, m.StoreOptions())
	if err != nil {
		return nil, err
	}
	f.stores[m] = s
	return s, nil
}
