package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

// TrainFunc trains a client: from the round's global model, on the data its task
// names, to the update it reports.
type TrainFunc func(ctx context.Context, task Task, global Model) (Update, error)

// Client serves a TrainFunc under the client protocol. A warm instance keeps its data
// and its store connection between invocations.
type Client struct {
	name   string
	train  TrainFunc
	dep    deployment.Config
	depErr error
	stores weights.Stores
	data   *dataCache
	// mu keeps invocations of one instance apart (platforms send one at a time, but
	// a host may run several).
	mu sync.Mutex
}

// NewClient serves train with the deployment this process was given (see package
// deployment: the key and the store's address, from the environment or the
// platform's secret files). A deployment that cannot be read fails every invocation.
func NewClient(train TrainFunc) *Client {
	dep, err := deployment.Load()
	return NewClientWith(train, dep, err)
}

// NewClientWith serves train with the given deployment (hosts that read it once for
// several functions, and tests).
func NewClientWith(train TrainFunc, dep deployment.Config, depErr error) *Client {
	return &Client{name: invocation.KindClient, train: train, dep: dep, depErr: depErr, data: newDataCache()}
}

// Handle is the function's entry point: it opens the signed request and runs it.
func (c *Client) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if c.depErr != nil {
		return nil, fmt.Errorf("%s: %w", c.name, c.depErr)
	}
	var t Task
	req, err := invocation.OpenRaw(raw, c.dep.TokenKey, invocation.KindClient, &t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return c.Run(ctx, t, req.Inline)
}

// Run runs a task whose request's token the caller checked, from the global model
// inline or in MongoDB.
func (c *Client) Run(ctx context.Context, t Task, inline *invocation.Weights) (Result, error) {
	if err := t.validate(inline); err != nil {
		return Result{}, fmt.Errorf("%s: %w", c.name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	began := time.Now()
	manifest, err := t.Model.Manifest()
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", c.name, err)
	}
	global, store, err := c.global(ctx, t, manifest, inline)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", c.name, err)
	}
	res := Result{Experiment: t.Experiment, Round: t.Round, Client: t.Client, Attempt: t.Attempt, BaseVersion: t.BaseVersion,
		LoadSeconds: time.Since(began).Seconds()}
	up, err := c.trained(ctx, t, global, &res)
	if err != nil {
		return Result{}, fmt.Errorf("%s: client %d: %w", c.name, t.Client, err)
	}
	if err := c.report(ctx, t, manifest, up, store, &res); err != nil {
		return Result{}, fmt.Errorf("%s: %w", c.name, err)
	}
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}

// global returns the round's global model: the inline one, or the stored one with the
// store to write the update to.
func (c *Client) global(ctx context.Context, t Task, manifest []Param, inline *invocation.Weights) (Model, *weights.Store, error) {
	m := Model{Version: t.BaseVersion, Manifest: manifest}
	if inline != nil {
		params, err := weights.Decode(inline.Data, manifest, inline.Checksum)
		if err != nil {
			return m, nil, fmt.Errorf("inline global model: %w", err)
		}
		// Decode may view the request's bytes; the client gets a vector of its own.
		m.Params = append([]float32(nil), params...)
		return m, nil, nil
	}
	if c.dep.MongoURI == "" {
		return m, nil, deployment.ErrNoStore
	}
	store, err := c.stores.Get(ctx, t.Store.Options(c.dep))
	if err != nil {
		return m, nil, err
	}
	g, err := store.GetGlobalKnown(ctx, t.Experiment, t.BaseVersion, t.BaseSHA256)
	if err != nil {
		return m, nil, fmt.Errorf("read the global model: %w", err)
	}
	if !arch.SameManifest(manifest, g.Manifest) {
		return m, nil, fmt.Errorf("stored global v%d is not a %s model", t.BaseVersion, t.Model.Kind)
	}
	m.Params = g.Params
	return m, store, nil
}

// trained runs the client's training and checks what it reports; for an attacker, or
// under local differential privacy, the update is changed as the task says.
func (c *Client) trained(ctx context.Context, t Task, global Model, res *Result) (Update, error) {
	start := append([]float32(nil), global.Params...) // the training may change them
	t.data = c.data
	c.data.took() // count this invocation's loading only
	began := time.Now()
	up, err := c.train(ctx, t, global)
	if err != nil {
		return Update{}, err
	}
	warm, loading := c.data.took()
	res.WarmData = warm
	res.LoadSeconds += loading.Seconds()
	res.TrainSeconds = (time.Since(began) - loading).Seconds()
	switch {
	case len(up.Params) != len(start):
		return Update{}, fmt.Errorf("the update has %d values, the global model %d", len(up.Params), len(start))
	case up.Samples <= 0:
		return Update{}, fmt.Errorf("the update reports %d samples; FedAvg weighs updates by their samples", up.Samples)
	}
	// Seeded by the client's own training seed: the same attempt reports the same update.
	rng := rand.New(rand.NewPCG(t.Train.Seed, 0xd9))
	switch {
	case t.Attack.On() && t.Attack.Malicious(t.Data.Clients())[t.Client]:
		err = t.Attack.Apply(start, up.Params, rng)
	case t.Privacy.On():
		_, err = t.Privacy.Apply(start, up.Params, rng)
	}
	return up, err
}

// report stores the update, or for a relayed client puts it into the result.
func (c *Client) report(ctx context.Context, t Task, manifest []Param, up Update, store *weights.Store, res *Result) error {
	res.Samples, res.Loss = up.Samples, up.Loss
	if store == nil {
		data, sum := weights.Encode(up.Params)
		res.Update = &invocation.Weights{Data: data, Checksum: sum}
		return nil
	}
	sum, err := store.PutUpdate(ctx, weights.Update{
		Experiment: t.Experiment, Round: t.Round, Client: t.Client, Attempt: t.Attempt, BaseVersion: t.BaseVersion,
		Samples: up.Samples, Loss: up.Loss, Manifest: manifest, Params: up.Params, AcceptLate: t.AcceptLate,
	})
	if err != nil {
		return err
	}
	res.UpdateSHA256 = sum
	if 4*len(up.Params) <= ResultUpdateMax {
		data, _ := weights.Encode(up.Params)
		res.Update = &invocation.Weights{Data: data, Checksum: sum}
	}
	return nil
}
