package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

// InvokerTask is the task of fl_invoker_weights_update: clients to relay, each with
// the relayed cluster it runs on and its own signed request. The cluster names a target
// the invoker was deployed with (deployment.Config.Relay); it calls nothing else.
type InvokerTask struct {
	Clients []InvokerClient `json:"clients"`
	// Store names where the weights are kept; the address is the invoker's deployment's.
	Store flclient.Store `json:"store"`
}

// InvokerClient is one client to relay.
type InvokerClient struct {
	Cluster string             `json:"cluster"`
	Request invocation.Request `json:"request"`
}

// InvokerResult reports every relayed client.
type InvokerResult struct {
	Results []flclient.Result `json:"results"`
	Errors  map[int]string    `json:"errors,omitempty"`
}

// Invoker is the fl_invoker_weights_update function.
type Invoker struct {
	dep    deployment.Config
	depErr error
	stores weights.Stores
	http   *http.Client
}

// NewInvoker returns a cold instance deployed with dep (see flclient.New).
func NewInvoker(dep deployment.Config, depErr error) *Invoker {
	return &Invoker{dep: dep, depErr: depErr, http: &http.Client{Timeout: 15 * time.Minute}}
}

// Handle relays every client in turn; one client's failure does not stop the others.
func (inv *Invoker) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if inv.depErr != nil {
		return nil, fmt.Errorf("fl_invoker_weights_update: %w", inv.depErr)
	}
	var t InvokerTask
	if _, err := invocation.OpenRaw(raw, inv.dep.TokenKey, invocation.KindRelay, &t); err != nil {
		return nil, fmt.Errorf("fl_invoker_weights_update: %w", err)
	}
	if len(t.Clients) == 0 {
		return nil, errors.New("fl_invoker_weights_update: the task names no clients")
	}
	if inv.dep.MongoURI == "" {
		return nil, fmt.Errorf("fl_invoker_weights_update: %w", deployment.ErrNoStore)
	}
	store, err := inv.stores.Get(ctx, t.Store.Options(inv.dep))
	if err != nil {
		return nil, fmt.Errorf("fl_invoker_weights_update: %w", err)
	}
	out := InvokerResult{Errors: map[int]string{}}
	for i, c := range t.Clients {
		res, client, err := inv.relayOne(ctx, store, c)
		if err != nil {
			out.Errors[clientOr(client, -1-i)] = err.Error()
			continue
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

// relayOne relays one client: its own request must be signed too, and its cluster
// must be one the invoker was deployed to reach.
func (inv *Invoker) relayOne(ctx context.Context, store *weights.Store, c InvokerClient) (flclient.Result, int, error) {
	var t flclient.Task
	if err := c.Request.Open(inv.dep.TokenKey, invocation.KindClient, &t); err != nil {
		return flclient.Result{}, -1, err
	}
	target, ok := inv.dep.Relay[c.Cluster]
	if !ok {
		return flclient.Result{}, t.Client, fmt.Errorf("cluster %q is not one this invoker was deployed to reach (%v)", c.Cluster, inv.targets())
	}
	res, err := Relay(ctx, store, c.Request, t, HTTPCall(inv.http, target))
	return res, t.Client, err
}

func (inv *Invoker) targets() []string { return slices.Sorted(maps.Keys(inv.dep.Relay)) }

// clientOr is the client's number, or fallback when the request could not be read.
func clientOr(client, fallback int) int {
	if client < 0 {
		return fallback
	}
	return client
}
