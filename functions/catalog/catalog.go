// Package catalog names every FedKeeper function, so each platform's entry point (the
// OpenWhisk actionloop binary, the Cloud Functions source, the OpenFaaS handler) serves
// all of them from one build and picks one by its name.
package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/flserver"
	"github.com/fedkeeper/fedkeeper/functions/nodeinfo"
	"github.com/fedkeeper/fedkeeper/functions/relay"
)

// Handler runs one invocation on JSON parameters and returns a JSON-able result.
type Handler func(ctx context.Context, params json.RawMessage) (any, error)

// Functions returns a fresh instance of every function by name. Instances keep their
// caches (data, connections) between invocations, as warm FaaS instances do.
// Each reads its deployment (see package deployment) from the process once.
func Functions() map[string]Handler {
	dep, err := deployment.Load()
	server := flserver.New(dep, err)
	return map[string]Handler{
		"fl_client":            flclient.New(dep, err).Handle,
		"fl_server_init":       server.HandleInit,
		"fl_server_aggregator": server.HandleAggregate,
		// fl_invoker_weights_update carries weights for clients that cannot reach MongoDB.
		"fl_invoker_weights_update": relay.NewInvoker(dep, err).Handle,
		"nodeinfo":                  nodeinfo.Handle,
	}
}

// Lookup returns the named function.
func Lookup(name string) (Handler, error) {
	fns := Functions()
	if h, ok := fns[name]; ok {
		return h, nil
	}
	names := make([]string, 0, len(fns))
	for n := range fns {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("no function named %q (have %v)", name, names)
}
