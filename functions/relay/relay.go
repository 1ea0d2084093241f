// Package relay carries weights between MongoDB and clients that cannot reach it, the
// job of the seed's fl_invoker_weights_update: it reads the round's global model, sends
// it inside the client's request, and stores the update that comes back in the answer.
// The keeper relays this way for clusters marked relay_weights, and the
// fl_invoker_weights_update function does the same from inside a server cluster.
package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/token"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Call runs a client with the given (inline) parameters and returns its result.
type Call func(ctx context.Context, p flclient.Params) (flclient.Result, error)

// Relay trains client p through call, with the weights carried inline, and stores the
// update. The returned result no longer holds the update's bytes.
func Relay(ctx context.Context, store *weights.Store, globals *Cache, p flclient.Params, call Call) (flclient.Result, error) {
	manifest, err := p.Model.Manifest()
	if err != nil {
		return flclient.Result{}, err
	}
	data, sum, err := globals.Get(ctx, store, p.Experiment, p.BaseVersion)
	if err != nil {
		return flclient.Result{}, err
	}
	// The client gets neither the database's address nor any key bound to the relay.
	p.Mongo, p.Key = flclient.Mongo{}, ""
	p.Inline = &flclient.Weights{Data: data, Checksum: sum}
	res, err := call(ctx, p)
	if err != nil {
		return flclient.Result{}, err
	}
	if res.Update == nil {
		return flclient.Result{}, fmt.Errorf("relay: client %d answered without its update", p.Client)
	}
	params, err := weights.Decode(res.Update.Data, manifest, res.Update.Checksum)
	if err != nil {
		return flclient.Result{}, fmt.Errorf("relay: update of client %d: %w", p.Client, err)
	}
	if res.Client != p.Client || res.Round != p.Round || res.Samples <= 0 {
		return flclient.Result{}, fmt.Errorf("relay: client %d answered for client %d, round %d, %d samples", p.Client, res.Client, res.Round, res.Samples)
	}
	if err := store.PutUpdate(ctx, weights.Update{Experiment: p.Experiment, Round: p.Round, Client: p.Client,
		BaseVersion: p.BaseVersion, Samples: res.Samples, Loss: res.Loss, Manifest: manifest, Params: params, AcceptLate: p.AcceptLate}); err != nil {
		return flclient.Result{}, err
	}
	res.Update = nil
	return res, nil
}

// Cache keeps the encoded global model of the latest version read, which every
// client of a round needs.
type Cache struct {
	mu   sync.Mutex
	key  string
	data []byte
	sum  string
}

// Get returns the encoded global model of an experiment's version.
func (c *Cache) Get(ctx context.Context, store *weights.Store, experiment string, version int) ([]byte, string, error) {
	key := fmt.Sprintf("%s/v%d", experiment, version)
	c.mu.Lock()
	if c.key == key && c.data != nil {
		data, sum := c.data, c.sum
		c.mu.Unlock()
		return data, sum, nil
	}
	c.mu.Unlock()
	g, err := store.GetGlobal(ctx, experiment, version)
	if err != nil {
		return nil, "", err
	}
	data, sum := weights.Encode(g.Params)
	c.mu.Lock()
	c.key, c.data, c.sum = key, data, sum
	c.mu.Unlock()
	return data, sum, nil
}

// Target is a client function's HTTP endpoint and the headers (credentials) it needs.
type Target struct {
	URL    string            `json:"url"`
	Header map[string]string `json:"header,omitempty"`
}

// HTTPCall calls a client function over HTTP (a Cloud Functions trigger, an OpenFaaS
// /function/ route, an OpenWhisk web action) with the parameters as the JSON body.
func HTTPCall(client *http.Client, t Target) Call {
	return func(ctx context.Context, p flclient.Params) (flclient.Result, error) {
		body, err := json.Marshal(p)
		if err != nil {
			return flclient.Result{}, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
		if err != nil {
			return flclient.Result{}, fmt.Errorf("relay: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range t.Header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return flclient.Result{}, fmt.Errorf("relay: call client %d: %w", p.Client, err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return flclient.Result{}, fmt.Errorf("relay: call client %d: %w", p.Client, err)
		}
		if resp.StatusCode != http.StatusOK {
			return flclient.Result{}, fmt.Errorf("relay: client %d answered HTTP %d: %.300s", p.Client, resp.StatusCode, data)
		}
		var res flclient.Result
		if err := json.Unmarshal(data, &res); err != nil {
			return flclient.Result{}, fmt.Errorf("relay: client %d: %w", p.Client, err)
		}
		return res, nil
	}
}

// InvokerParams is the input of fl_invoker_weights_update: clients to train, each with
// its endpoint. Client parameters carry the MongoDB address the relay itself uses.
type InvokerParams struct {
	Clients []InvokerClient `json:"clients"`
	// Key is the token key bound to the deployed invoker (OpenWhisk); see package token.
	Key string `json:"fedkeeper_key,omitempty"`
}

// InvokerClient is one client to relay.
type InvokerClient struct {
	Target Target          `json:"target"`
	Params flclient.Params `json:"params"`
}

// InvokerResult reports every relayed client.
type InvokerResult struct {
	Results []flclient.Result `json:"results"`
	Errors  map[int]string    `json:"errors,omitempty"`
}

// Invoker is the fl_invoker_weights_update function.
type Invoker struct {
	mu      sync.Mutex
	stores  map[flclient.Mongo]*weights.Store
	globals Cache
	http    *http.Client
}

// NewInvoker returns a cold instance.
func NewInvoker() *Invoker {
	return &Invoker{stores: map[flclient.Mongo]*weights.Store{}, http: &http.Client{Timeout: 15 * time.Minute}}
}

// Handle relays every client in turn; one client's failure does not stop the others.
func (inv *Invoker) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var p InvokerParams
	if err := json.Unmarshal(raw, &p); err != nil || len(p.Clients) == 0 {
		return nil, errors.New("fl_invoker_weights_update: give clients, each with target and params")
	}
	out := InvokerResult{Errors: map[int]string{}}
	for _, c := range p.Clients {
		// The relay writes updates: it takes only calls signed by the keeper.
		if err := token.Verify(token.Key(p.Key), c.Params.Token, c.Params.TokenParts()...); err != nil {
			out.Errors[c.Params.Client] = err.Error()
			continue
		}
		store, err := inv.store(ctx, c.Params.Mongo)
		if err == nil {
			var res flclient.Result
			res, err = Relay(ctx, store, &inv.globals, c.Params, HTTPCall(inv.http, c.Target))
			if err == nil {
				out.Results = append(out.Results, res)
				continue
			}
		}
		out.Errors[c.Params.Client] = err.Error()
	}
	return out, nil
}

func (inv *Invoker) store(ctx context.Context, m flclient.Mongo) (*weights.Store, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if s, ok := inv.stores[m]; ok {
		return s, nil
	}
	s, err := weights.Connect(ctx, m.StoreOptions())
	if err != nil {
		return nil, err
	}
	inv.stores[m] = s
	return s, nil
}
