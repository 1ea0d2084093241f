// Package flserver is the server side of an experiment: writing the initial model with
// the clients' data partitions (fl_server_init) and averaging a round's updates into the
// next global version (fl_server_aggregator). The keeper's activities call it directly,
// or, when the config says so, invoke it as functions on the server cluster, as the
// seed did.
package flserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

// ErrNoUpdates means none of a round's updates could be aggregated.
var ErrNoUpdates = errors.New("flserver: no update could be aggregated")

// InitParams ask for an experiment's version 0 and partitions.
type InitParams struct {
	Experiment string         `json:"experiment"`
	Model      model.Spec     `json:"model"`
	Seed       uint64         `json:"seed"`
	Partition  partition.Spec `json:"partition"`
	// Train locates the training split, whose labels the partition record needs.
	Train mnist.Source `json:"train"`
	// Synthetic, set, is the experiment's generated data, whose devices the record
	// lists instead (Partition and Train are then zero).
	Synthetic synthetic.Spec `json:"synthetic,omitzero"`
	// Store names where the weights are kept; as a function, the address is the
	// deployment's.
	Store flclient.Store `json:"store"`
}

// InitResult describes what was written.
type InitResult struct {
	Version   int `json:"version"`
	NumParams int `json:"num_params"`
	Clients   int `json:"clients"`
	Samples   int `json:"samples"`
}

// Init writes global version 0 from the seed and records every client's share of the
// data. Running it again finds both and changes nothing.
func Init(ctx context.Context, store *weights.Store, p InitParams) (InitResult, error) {
	manifest, err := p.Model.Manifest()
	if err != nil {
		return InitResult{}, err
	}
	if err := store.PrepareChunkShards(ctx); err != nil {
		return InitResult{}, err
	}
	params := model.Init(manifest, p.Seed)
	if _, err := store.PutGlobal(ctx, weights.Global{Experiment: p.Experiment, Version: 0, Manifest: manifest, Params: params}); err != nil {
		return InitResult{}, fmt.Errorf("initial model of %s: %w", p.Experiment, err)
	}
	res := InitResult{Version: 0, NumParams: len(params)}
	if p.Synthetic.On() {
		return recordDevices(ctx, store, p, res)
	}
	if p.Train.LabelsURL == "" {
		return res, nil
	}
	labelData, err := mnist.Fetch(ctx, p.Train.LabelsURL)
	if err != nil {
		return InitResult{}, err
	}
	labels, err := mnist.ParseLabels(labelData)
	if err != nil {
		return InitResult{}, err
	}
	parts, err := partition.Split(labels, p.Partition)
	if err != nil {
		return InitResult{}, err
	}
	rec := weights.Partitions{Experiment: p.Experiment, Scheme: string(p.Partition.Scheme), Seed: p.Partition.Seed}
	for c, idx := range parts {
		share := weights.Share{Client: c, Samples: len(idx), Labels: make([]int, mnist.Classes)}
		for _, i := range idx {
			share.Labels[labels[i]]++
		}
		rec.Clients = append(rec.Clients, share)
		res.Samples += len(idx)
	}
	res.Clients = len(parts)
	if err := store.PutPartitions(ctx, rec); err != nil {
		return InitResult{}, err
	}
	return res, nil
}

// recordDevices records every synthetic device's training examples by label, as the
// partition record of a synthetic experiment (scheme synthetic or synthetic_iid).
func recordDevices(ctx context.Context, store *weights.Store, p InitParams, res InitResult) (InitResult, error) {
	g, err := synthetic.New(p.Synthetic)
	if err != nil {
		return InitResult{}, err
	}
	scheme := "synthetic"
	if p.Synthetic.IID {
		scheme = "synthetic_iid"
	}
	rec := weights.Partitions{Experiment: p.Experiment, Scheme: scheme, Seed: p.Synthetic.Seed}
	for k := range p.Synthetic.Devices {
		d, err := g.Device(k)
		if err != nil {
			return InitResult{}, err
		}
		share := weights.Share{Client: k, Samples: d.Train.Len(), Labels: make([]int, synthetic.Classes)}
		for _, l := range d.Train.Labels {
			share.Labels[l]++
		}
		rec.Clients = append(rec.Clients, share)
		res.Samples += d.Train.Len()
	}
	res.Clients = p.Synthetic.Devices
	if err := store.PutPartitions(ctx, rec); err != nil {
		return InitResult{}, err
	}
	return res, nil
}

// AggregateParams ask for a round's aggregation.
type AggregateParams struct {
	Experiment  string     `json:"experiment"`
	Round       int        `json:"round"`
	BaseVersion int        `json:"base_version"`
	Clients     []int      `json:"clients"`
	Model       model.Spec `json:"model"`
	// Strategy turns the updates into the next version; the zero value is FedAvg.
	Strategy strategy.Spec `json:"strategy,omitzero"`
	// Late folds in the earlier rounds' updates that arrived after their round was
	// aggregated (semi-asynchronous rounds); nil leaves them alone.
	Late *LateFolding `json:"late,omitempty"`
	// Partials name the running sums batches of the round's clients folded as they
	// finished, by key and digest (weights.PutPartial), as the batches reported them:
	// merged instead of reading their updates again, each only when it has that
	// digest and holds only clients counted here, none twice. FedAvg and the server
	// optimisers only; robust strategies read every update.
	Partials []weights.PartialRef `json:"partial_sums,omitempty"`
	// KeepUpdates leaves the round's clean-up (deleting its updates and sums) to the
	// caller, so the version is ready without waiting for it (synchronous rounds only).
	KeepUpdates bool `json:"keep_updates,omitempty"`
	// Store as for InitParams.
	Store flclient.Store `json:"store"`
}

// Rejection says why a client's update was not aggregated.
type Rejection struct {
	Client int `json:"client"`
	// Round is set for a late update of an earlier round.
	Round  int    `json:"round,omitempty"`
	Reason string `json:"reason"`
}

// AggregateResult describes the new global version.
type AggregateResult struct {
	Version  int         `json:"version"`
	Updates  int         `json:"updates"`
	Samples  int         `json:"samples"`
	Counted  []int       `json:"counted"`
	Rejected []Rejection `json:"rejected,omitempty"`
	// FromPartials counts the updates that came in partial sums (AggregateParams.Partials).
	FromPartials int `json:"from_partials,omitempty"`
	// Stale are the late updates folded in, with their weights.
	Stale []StaleUpdate `json:"stale,omitempty"`
	// Existing is set when the version was already stored (a retried aggregation).
	Existing bool `json:"existing,omitempty"`
}

// ErrBadStrategy marks a strategy that cannot aggregate the round (unknown, bad
// settings, too few clients for Krum): retrying will not help.
var ErrBadStrategy = errors.New("flserver: strategy cannot aggregate this round")

// stepServer moves the previous global version along the round's average with the
// strategy's server optimiser, from the state stored with that version (a fresh one
// when there is none), and stores the new state before the new version: a retry after
// a crash steps from the same state to the same result.
func stepServer(ctx context.Context, store *weights.Store, p AggregateParams, manifest []model.Param, avg []float32) ([]float32, error) {
	opt, err := p.Strategy.ServerOptimizer()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadStrategy, err)
	}
	base, err := store.GetGlobal(ctx, p.Experiment, p.BaseVersion)
	if err != nil {
		return nil, fmt.Errorf("server optimiser: %w", err)
	}
	if !model.SameManifest(base.Manifest, manifest) {
		return nil, fmt.Errorf("server optimiser: global v%d is not a %s model", p.BaseVersion, p.Model.Kind)
	}
	state, err := store.GetServerState(ctx, p.Experiment, p.BaseVersion)
	if errors.Is(err, weights.ErrNotFound) {
		state = strategy.ServerState{}
	} else if err != nil {
		return nil, fmt.Errorf("server optimiser: %w", err)
	}
	next, state, err := opt.Step(base.Params, avg, state)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadStrategy, err)
	}
	if err := store.PutServerState(ctx, p.Experiment, p.Round, state); err != nil {
		return nil, err
	}
	return next, nil
}

// chosenOnly keeps, of the counted clients, those whose models a robust strategy used
// (Krum's choice; the others all), and lists the rest as rejected.
func chosenOnly(res AggregateResult, clients, samples, used []int, kind string) AggregateResult {
	if len(used) == len(clients) {
		return res
	}
	keep := map[int]bool{}
	res.Counted, res.Samples = nil, 0
	for _, i := range used {
		keep[i] = true
		res.Counted = append(res.Counted, clients[i])
		res.Samples += samples[i]
	}
	for i, c := range clients {
		if !keep[i] {
			res.Rejected = append(res.Rejected, Rejection{Client: c, Reason: "left out by " + kind})
		}
	}
	sort.Ints(res.Counted)
	sort.Slice(res.Rejected, func(i, j int) bool { return res.Rejected[i].Client < res.Rejected[j].Client })
	res.Updates = len(res.Counted)
	return res
}

// Function serves fl_server_init and fl_server_aggregator, keeping its connections warm.
type Function struct {
	dep    deployment.Config
	depErr error
	stores weights.Stores
}

// New returns a cold instance deployed with dep (see flclient.New).
func New(dep deployment.Config, depErr error) *Function { return &Function{dep: dep, depErr: depErr} }

// open checks a request of kind and decodes its task into out.
func (f *Function) open(raw json.RawMessage, kind string, out any) error {
	if f.depErr != nil {
		return fmt.Errorf("%s: %w", kind, f.depErr)
	}
	if _, err := invocation.OpenRaw(raw, f.dep.TokenKey, kind, out); err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	return nil
}

// store connects to the named store at the deployment's address.
func (f *Function) store(ctx context.Context, kind string, s flclient.Store) (*weights.Store, error) {
	if f.dep.MongoURI == "" {
		return nil, fmt.Errorf("%s: %w", kind, deployment.ErrNoStore)
	}
	store, err := f.stores.Get(ctx, s.Options(f.dep))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return store, nil
}

// HandleInit is fl_server_init.
func (f *Function) HandleInit(ctx context.Context, raw json.RawMessage) (any, error) {
	var p InitParams
	if err := f.open(raw, invocation.KindInit, &p); err != nil {
		return nil, err
	}
	if p.Experiment == "" {
		return nil, errors.New("fl_server_init: the task names no experiment")
	}
	store, err := f.store(ctx, invocation.KindInit, p.Store)
	if err != nil {
		return nil, err
	}
	return Init(ctx, store, p)
}

// HandleAggregate is fl_server_aggregator.
func (f *Function) HandleAggregate(ctx context.Context, raw json.RawMessage) (any, error) {
	var p AggregateParams
	if err := f.open(raw, invocation.KindAggregate, &p); err != nil {
		return nil, err
	}
	if p.Experiment == "" || p.Round < 1 {
		return nil, fmt.Errorf("fl_server_aggregator: the task names experiment %q, round %d", p.Experiment, p.Round)
	}
	store, err := f.store(ctx, invocation.KindAggregate, p.Store)
	if err != nil {
		return nil, err
	}
	return Aggregate(ctx, store, p, nil)
}
