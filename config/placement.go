package config

import (
	"maps"
	"slices"
)

// Platform names a FaaS platform.
type Platform string

// The platforms of the fabric.
const (
	OpenWhisk Platform = "openwhisk"
	Google    Platform = "google"
	OpenFaaS  Platform = "openfaas"
	AWS       Platform = "aws" // AWS Lambda
)

// defaultPlatform is where every client runs when clients_info gives no counts: the
// first platform, in placement order, that has a cluster ("" when none has; the
// config's defaults give OpenWhisk one then).
func (c *Config) defaultPlatform() Platform {
	ci := c.Scenarios.FederatedLearning.ClientsInfo
	if ci.OWClientsCount+ci.GCFClientsCount+ci.EdgeClientsCount+ci.LambdaClientsCount != 0 {
		return ""
	}
	clusters := map[Platform]int{OpenWhisk: len(c.Providers.OpenWhisk), Google: len(c.Providers.Google),
		OpenFaaS: len(c.Providers.OpenFaaS), AWS: len(c.Providers.AWS)}
	for _, p := range Platforms() {
		if clusters[p] > 0 {
			return p
		}
	}
	return ""
}

// Platforms are the fabric's platforms, in placement order.
func Platforms() []Platform { return []Platform{OpenWhisk, Google, OpenFaaS, AWS} }

// Placement says where one client's function runs.
type Placement struct {
	Client   int      `json:"client"`
	Platform Platform `json:"platform"`
	Cluster  string   `json:"cluster"`
	Function string   `json:"function"`
}

// ClientPlacements assigns every client to a platform and cluster the way the seed did:
// the first ow_clients_count clients go to OpenWhisk, then gcf_clients_count to Google
// Cloud Functions, then edge_clients_count to OpenFaaS gateways of edge devices, then
// lambda_clients_count to AWS Lambda; within a platform
// the clients go round-robin over its clusters in name order, and each cluster's
// clients over the client_functions in their order (so two functions, say a Go and a
// PyTorch client, share every cluster that has two clients or more). When no count is given, every
// client runs on the first platform with a cluster, in that same order.
func (c *Config) ClientPlacements() []Placement {
	ci := c.Scenarios.FederatedLearning.ClientsInfo
	ow, gcf, edge, aws := ci.OWClientsCount, ci.GCFClientsCount, ci.EdgeClientsCount, ci.LambdaClientsCount
	if ow+gcf+edge+aws == 0 {
		switch c.defaultPlatform() {
		case OpenWhisk:
			ow = ci.TotalNumClients
		case OpenFaaS:
			edge = ci.TotalNumClients
		case AWS:
			aws = ci.TotalNumClients
		default:
			gcf = ci.TotalNumClients
		}
	}
	owClusters := slices.Sorted(maps.Keys(c.Providers.OpenWhisk))
	gcfClusters := slices.Sorted(maps.Keys(c.Providers.Google))
	edgeClusters := slices.Sorted(maps.Keys(c.Providers.OpenFaaS))
	awsClusters := slices.Sorted(maps.Keys(c.Providers.AWS))
	fns := ci.ClientFunctions

	placements := make([]Placement, 0, ci.TotalNumClients)
	add := func(count int, platform Platform, clusters []string) {
		for i := 0; i < count; i++ {
			cluster := ""
			if len(clusters) > 0 {
				cluster = clusters[i%len(clusters)]
			}
			placements = append(placements, Placement{Client: len(placements), Platform: platform, Cluster: cluster, Function: fns[i/max(len(clusters), 1)%len(fns)]})
		}
	}
	add(ow, OpenWhisk, owClusters)
	add(gcf, Google, gcfClusters)
	add(edge, OpenFaaS, edgeClusters)
	add(aws, AWS, awsClusters)
	return placements
}
