// Package flclient is the body of the fl_client function: it reads the global model of
// the round from MongoDB (or from the request, when relayed), trains it on the client's
// share of the data and writes the update back, keyed by experiment, round and client
// (or returns it). A warm instance keeps its data, partitions and database connection
// between invocations.
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
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Task is one invocation's job, the task of an fl_client request (see package
// invocation): the keeper signs all of it, so everything that shapes the update is
// what the keeper asked for.
type Task struct {
	Experiment string `json:"experiment"`
	Round      int    `json:"round"`
	Client     int    `json:"client"`
	// Attempt numbers the keeper's invocations of this client in this round, from 1; a
	// stored update is only ever replaced by a later attempt's.
	Attempt     int                `json:"attempt"`
	BaseVersion int                `json:"base_version"`
	Model       model.Spec         `json:"model"`
	Train       model.TrainOptions `json:"train"`
	Data        Data               `json:"data"`
	// Store names where the weights are kept; the store's address comes from the
	// deployment. Empty when the weights travel inline.
	Store Store `json:"store,omitzero"`
	// InlineSHA256 is the checksum of the global model the request carries inline,
	// for clients that cannot reach MongoDB; the update then comes back in the result.
	InlineSHA256 string `json:"inline_sha256,omitempty"`
	// Privacy clips the update and adds noise before it is reported (local DP).
	Privacy privacy.Mechanism `json:"privacy,omitzero"`
	// Attack makes this client report a malicious update if it is one of the
	// experiment's attackers (for testing robust strategies).
	Attack attack.Spec `json:"attack,omitzero"`
	// AcceptLate stores the update even if the round was aggregated meanwhile: a
	// semi-asynchronous round folds it into a later version.
	AcceptLate bool `json:"accept_late,omitempty"`
}

// Data says where the training split is and how it is partitioned.
type Data struct {
	Train     mnist.Source   `json:"train"`
	Partition partition.Spec `json:"partition"`
}

// Store names the database and collection of the weights.
type Store struct {
	DB         string `json:"db"`
	Collection string `json:"collection"`
}

// Options are the weight store's options for this store at a deployment's address.
func (s Store) Options(dep deployment.Config) weights.Options {
	return weights.Options{URI: dep.MongoURI, DB: s.DB, Collection: s.Collection, TensorDir: dep.TensorDir}
}

// Result is what the function returns; the parameters themselves go to MongoDB.
type Result struct {
	Experiment   string  `json:"experiment"`
	Round        int     `json:"round"`
	Client       int     `json:"client"`
	Attempt      int     `json:"attempt"`
	BaseVersion  int     `json:"base_version"`
	Samples      int     `json:"samples"`
	Loss         float64 `json:"loss"`
	TrainSeconds float64 `json:"train_seconds"`
	LoadSeconds  float64 `json:"load_seconds"`
	// Seconds is the function's whole run as it measured it: loading, training and
	// storing the update.
	Seconds float64 `json:"seconds"`
	WarmData     bool    `json:"warm_data"`
	// Update is the trained model, for inline requests only.
	Update *invocation.Weights `json:"update,omitempty"`
}

func (t Task) validate(inline *invocation.Weights) error {
	switch {
	case t.Experiment == "":
		return errors.New("experiment is missing")
	case t.Round < 1:
		return fmt.Errorf("round must be at least 1, got %d", t.Round)
	case t.Attempt < 1:
		return fmt.Errorf("attempt must be at least 1, got %d", t.Attempt)
	case t.Client < 0 || t.Client >= t.Data.Partition.NumClients:
		return fmt.Errorf("client %d is outside 0..%d", t.Client, t.Data.Partition.NumClients-1)
	case t.BaseVersion < 0:
		return fmt.Errorf("base_version must not be negative, got %d", t.BaseVersion)
	case t.InlineSHA256 == "" && inline != nil:
		return errors.New("the request carries weights its task does not name")
	case t.InlineSHA256 != "" && (inline == nil || inline.Checksum != t.InlineSHA256):
		return errors.New("the task names inline weights the request does not carry")
	case t.InlineSHA256 == "" && (t.Store.DB == "" || t.Store.Collection == ""):
		return errors.New("store db and collection are required (or inline weights)")
	case t.Data.Train.ImagesURL == "" || t.Data.Train.LabelsURL == "":
		return errors.New("data.train images_url and labels_url are required")
	}
	return nil
}

// Function keeps what a warm instance reuses.
type Function struct {
	dep        deployment.Config
	depErr     error
	stores     weights.Stores
	mu         sync.Mutex
	data       map[mnist.Source]*mnist.Raw
	partitions map[partitionKey][][]int
}

type partitionKey struct {
	src  mnist.Source
	spec partition.Spec
}

// New returns a cold function instance deployed with dep; depErr (a deployment that
// could not be read) fails every invocation.
func New(dep deployment.Config, depErr error) *Function {
	return &Function{dep: dep, depErr: depErr, data: map[mnist.Source]*mnist.Raw{}, partitions: map[partitionKey][][]int{}}
}

// Handle is the function's entry point: it opens the signed request and runs it.
func (f *Function) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if f.depErr != nil {
		return nil, fmt.Errorf("fl_client: %w", f.depErr)
	}
	var t Task
	req, err := invocation.OpenRaw(raw, f.dep.TokenKey, invocation.KindClient, &t)
	if err != nil {
		return nil, fmt.Errorf("fl_client: %w", err)
	}
	return f.Run(ctx, t, req.Inline)
}

// Run trains one client for one round, from the global model inline or in MongoDB.
// The caller has checked the request's token.
func (f *Function) Run(ctx context.Context, t Task, inline *invocation.Weights) (Result, error) {
	if err := t.validate(inline); err != nil {
		return Result{}, fmt.Errorf("fl_client: %w", err)
	}
	// Invocations of one instance never overlap (concurrency 1), but keep the caches
	// safe for hosts that run several.
	f.mu.Lock()
	defer f.mu.Unlock()

	loadStart := time.Now()
	local, warm, err := f.localData(ctx, t)
	if err != nil {
		return Result{}, fmt.Errorf("fl_client: client %d: %w", t.Client, err)
	}
	manifest, err := t.Model.Manifest()
	if err != nil {
		return Result{}, fmt.Errorf("fl_client: %w", err)
	}
	params, store, err := f.global(ctx, t, manifest, inline)
	if err != nil {
		return Result{}, fmt.Errorf("fl_client: %w", err)
	}
	loadSeconds := time.Since(loadStart).Seconds()

	trainStart := time.Now()
	samples, loss, err := train(ctx, t, params, local)
	if err != nil {
		return Result{}, fmt.Errorf("fl_client: client %d: %w", t.Client, err)
	}
	res := Result{
		Experiment: t.Experiment, Round: t.Round, Client: t.Client, Attempt: t.Attempt, BaseVersion: t.BaseVersion,
		Samples: samples, Loss: loss, TrainSeconds: time.Since(trainStart).Seconds(), LoadSeconds: loadSeconds, WarmData: warm,
	}
	if store == nil {
		data, sum := weights.Encode(params)
		res.Update = &invocation.Weights{Data: data, Checksum: sum}
	} else if err := store.PutUpdate(ctx, weights.Update{
		Experiment: t.Experiment, Round: t.Round, Client: t.Client, Attempt: t.Attempt, BaseVersion: t.BaseVersion,
		Samples: samples, Loss: loss, Manifest: manifest, Params: params, AcceptLate: t.AcceptLate,
	}); err != nil {
		return Result{}, fmt.Errorf("fl_client: %w", err)
	}
	res.Seconds = time.Since(loadStart).Seconds()
	return res, nil
}

// global returns the round's global model: the inline one, or the stored one with the
// store to write the update to.
func (f *Function) global(ctx context.Context, t Task, manifest []model.Param, inline *invocation.Weights) ([]float32, *weights.Store, error) {
	if inline != nil {
		params, err := weights.Decode(inline.Data, manifest, inline.Checksum)
		if err != nil {
			return nil, nil, fmt.Errorf("inline global model: %w", err)
		}
		return params, nil, nil
	}
	if f.dep.MongoURI == "" {
		return nil, nil, deployment.ErrNoStore
	}
	store, err := f.stores.Get(ctx, t.Store.Options(f.dep))
	if err != nil {
		return nil, nil, err
	}
	g, err := store.GetGlobal(ctx, t.Experiment, t.BaseVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("read the global model: %w", err)
	}
	if !model.SameManifest(manifest, g.Manifest) {
		return nil, nil, fmt.Errorf("stored global v%d is not a %s model", t.BaseVersion, t.Model.Kind)
	}
	return g.Params, store, nil
}

// train trains params in place on the client's examples and, for an attacker or under
// local differential privacy, changes the update as the task says.
func train(ctx context.Context, t Task, params []float32, local *mnist.Dataset) (int, float64, error) {
	var start []float32 // the global model, kept where the update is changed afterwards
	malicious := t.Attack.On() && t.Attack.Malicious(t.Data.Partition.NumClients)[t.Client]
	if malicious || t.Privacy.On() {
		start = append([]float32(nil), params...)
	}
	res, err := model.Train(ctx, t.Model, params, local.Images, local.Labels, t.Train)
	if err != nil {
		return 0, 0, err
	}
	// Seeded by the client's own training seed: the same attempt reports the same update.
	rng := rand.New(rand.NewPCG(t.Train.Seed, 0xd9))
	switch {
	case malicious:
		err = t.Attack.Apply(start, params, rng)
	case t.Privacy.On():
		_, err = t.Privacy.Apply(start, params, rng)
	}
	return res.Samples, res.Loss, err
}

// localData returns the client's examples, loading and partitioning the split on the
// instance's first use.
func (f *Function) localData(ctx context.Context, t Task) (*mnist.Dataset, bool, error) {
	warm := true
	raw, ok := f.data[t.Data.Train]
	if !ok {
		warm = false
		var err error
		if raw, err = mnist.LoadRaw(ctx, t.Data.Train); err != nil {
			return nil, false, err
		}
		f.data[t.Data.Train] = raw
	}
	key := partitionKey{t.Data.Train, t.Data.Partition}
	parts, ok := f.partitions[key]
	if !ok {
		var err error
		if parts, err = partition.Split(raw.Labels, t.Data.Partition); err != nil {
			return nil, false, err
		}
		f.partitions[key] = parts
	}
	return raw.Subset(parts[t.Client]), warm, nil
}
