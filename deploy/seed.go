package deploy

import (
	"fmt"

	"github.com/fedkeeper/fedkeeper/config"
)

// The Python FedKeeper's main.py -d deployed a function per client, named after it,
// and an invoker per client that called it and carried its weights; FedKeeper deploys
// one client function per cluster instead, so these names are the seed's alone.
const (
	seedClientPrefix  = "client_"
	seedInvokerPrefix = "fl_invoker_weights_update"
)

// SeedTargets are the functions the Python FedKeeper's main.py -d deployed for this
// config and main.py -r removed, numbered as it numbered its clients: edge clients
// first (never deployed by it; they ran on the devices), then client_<N> on OpenWhisk
// for the ow_clients_count after them, client_<N> on Google Cloud Functions for the
// rest, and fl_invoker_weights_update<N> for every client on OpenWhisk. The seed
// deployed to the clusters named invasic_cluster and gcf_cluster whatever the config
// called them, so the names are looked for on every cluster of the platform; a
// cluster without them is left as it is. Its fl_server_init and fl_server_aggregator
// are not here: FedKeeper's server functions have the same names (-r removes them,
// -d replaces them).
func SeedTargets(cfg *config.Config) []Target {
	ci := cfg.Scenarios.FederatedLearning.ClientsInfo
	owFrom, gcfFrom := ci.EdgeClientsCount, ci.EdgeClientsCount+ci.OWClientsCount
	var out []Target
	for _, cluster := range keys(cfg.Providers.OpenWhisk) {
		out = appendNumbered(out, config.OpenWhisk, cluster, seedClientPrefix, owFrom, gcfFrom)
	}
	for _, cluster := range keys(cfg.Providers.Google) {
		out = appendNumbered(out, config.Google, cluster, seedClientPrefix, gcfFrom, ci.TotalNumClients)
	}
	for _, cluster := range keys(cfg.Providers.OpenWhisk) {
		out = appendNumbered(out, config.OpenWhisk, cluster, seedInvokerPrefix, 0, ci.TotalNumClients)
	}
	return out
}

// appendNumbered adds prefix<N> for N in [from, to) on one cluster.
func appendNumbered(out []Target, platform config.Platform, cluster, prefix string, from, to int) []Target {
	for n := from; n < to; n++ {
		out = append(out, Target{Platform: platform, Cluster: cluster, Function: fmt.Sprintf("%s%d", prefix, n)})
	}
	return out
}

// Removal says whose functions to remove.
type Removal struct {
	// Own are FedKeeper's functions for the experiment (ExperimentTargets): -r.
	Own bool
	// Seed are the Python FedKeeper's deployments (SeedTargets): -seed-functions.
	Seed bool
}

// RemovalTargets lists the functions a removal takes away: FedKeeper's first, then the
// seed's.
func RemovalTargets(cfg *config.Config, r Removal) ([]Target, error) {
	var out []Target
	if r.Own {
		own, err := ExperimentTargets(cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, own...)
	}
	if r.Seed {
		out = append(out, SeedTargets(cfg)...)
	}
	return out, nil
}
