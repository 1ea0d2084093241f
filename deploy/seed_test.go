package deploy

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
	gcfclient "github.com/fedkeeper/fedkeeper/faas/gcf"
	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

// The seed's names follow its numbering: edge clients first (not deployed by it), then
// OpenWhisk's, then Cloud Functions'; an invoker for every client on OpenWhisk.
func TestRemovalTargets(t *testing.T) {
	cfg := load(t) // 6 clients: 1 edge, 3 OpenWhisk, 2 Cloud Functions
	var invokers []string
	for _, c := range []string{"ow1", "ow2"} {
		for _, n := range []string{"0", "1", "2", "3", "4", "5"} {
			invokers = append(invokers, "openwhisk/"+c+"/fl_invoker_weights_update"+n)
		}
	}
	seed := "openwhisk/ow1/client_1 openwhisk/ow1/client_2 openwhisk/ow1/client_3 " +
		"openwhisk/ow2/client_1 openwhisk/ow2/client_2 openwhisk/ow2/client_3 " +
		"google/g1/client_4 google/g1/client_5 " + strings.Join(invokers, " ")
	own := "openwhisk/ow1/fl_client openwhisk/ow2/fl_client google/g1/fl_client openfaas/edge/fl_client openwhisk/ow2/aggregator"
	tests := []struct {
		name string
		r    Removal
		want string
	}{
		{"nothing", Removal{}, ""},
		{"FedKeeper's (-r)", Removal{Own: true}, own},
		{"the seed's (-seed-functions)", Removal{Seed: true}, seed},
		{"both", Removal{Own: true, Seed: true}, own + " " + seed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RemovalTargets(cfg, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != tc.want {
				t.Errorf("targets\n got %s\nwant %s", names(got), tc.want)
			}
		})
	}
}

const seedFabricConfig = `
providers:
  openwhisk:
    invasic_cluster: {}
  google:
    gcf_cluster: {api_endpoint: embedded}
scenarios:
  federated_learning:
    server_config:
      server_cluster_name: invasic_cluster
      initialisation: function
      aggregation: function
    clients_info:
      total_num_clients: 3
      num_clients_per_round: 3
      ow_clients_count: 2
      gcf_clients_count: 1
`

// On a local fabric: the seed's functions go when asked for, FedKeeper's own only
// with -r, and a function neither deployed stays.
func TestRemoveSeedFunctionsFromAFabric(t *testing.T) {
	cfg, err := config.Parse([]byte(seedFabricConfig), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := fabric.Start(ctx, fabric.Options{DataDir: t.TempDir(),
		OpenWhisk: &openwhisk.Options{Namespace: "guest", Auth: openwhisk.GuestAuth}, GCF: &gcf.Options{Token: "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	ow, err := owclient.New(owclient.Options{APIHost: f.URL, Namespace: "guest", Auth: openwhisk.GuestAuth})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gcfclient.New(ctx, gcfclient.Options{Endpoint: f.URL + "/", Project: "p", Region: "us-central1", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	providers := map[string]faas.Provider{"openwhisk/invasic_cluster": ow, "google/gcf_cluster": g}
	code, err := pack.ZipExecutable("exec", []byte("#!/bin/sh\n"))
	if err != nil {
		t.Fatal(err)
	}

	seed := []string{"client_0", "client_1", "fl_invoker_weights_update0", "fl_invoker_weights_update1", "fl_invoker_weights_update2"}
	own := []string{"fl_client", "fl_server_init", "fl_server_aggregator"}
	tests := []struct {
		r       Removal
		removed []string
	}{
		{Removal{Seed: true}, seed},
		{Removal{Own: true}, own},
		{Removal{Own: true, Seed: true}, append(slices.Clone(own), seed...)},
	}
	for _, tc := range tests {
		for _, name := range append(append([]string{"nodeinfo"}, seed...), own...) {
			if err := ow.Deploy(ctx, faas.Function{Name: name, Code: code}); err != nil {
				t.Fatal(err)
			}
		}
		targets, err := RemovalTargets(cfg, tc.r)
		if err != nil {
			t.Fatal(err)
		}
		if err := Remove(ctx, providers, targets, io.Discard); err != nil {
			t.Fatalf("%+v: %v", tc.r, err)
		}
		for _, name := range append(append([]string{"nodeinfo"}, seed...), own...) {
			d, err := ow.Deployment(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if want := !slices.Contains(tc.removed, name); d.Exists != want {
				t.Errorf("%+v: %s deployed %v, want %v", tc.r, name, d.Exists, want)
			}
		}
	}
}
