package deploy

import (
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
)

const fabricConfig = `
providers:
  openwhisk:
    ow1: {}
    ow2: {}
  google:
    g1:
      api_endpoint: embedded
  openfaas:
    edge: {}
scenarios:
  federated_learning:
    server_config:
      server_cluster_name: ow2
      server_manager_functions: [aggregator]
    clients_info:
      total_num_clients: 6
      num_clients_per_round: 3
      ow_clients_count: 3
      gcf_clients_count: 2
      edge_clients_count: 1
    functions:
      aggregator:
        openwhisk: {func_path: ./functions/openwhisk}
  test:
    functions:
      nodeinfo:
        openwhisk: {func_path: ./functions/openwhisk}
        google: {func_path: ./functions/gcf}
      other:
        openfaas: {func_path: ./functions/openfaas}
`

func load(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fabricConfig), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func names(ts []Target) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.String())
	}
	return strings.Join(out, " ")
}

func TestExperimentTargets(t *testing.T) {
	got, err := ExperimentTargets(load(t))
	if err != nil {
		t.Fatal(err)
	}
	want := "openwhisk/ow1/fl_client openwhisk/ow2/fl_client google/g1/fl_client openfaas/edge/fl_client openwhisk/ow2/aggregator"
	if names(got) != want {
		t.Errorf("targets\n got %s\nwant %s", names(got), want)
	}
}

func TestScenarioTargets(t *testing.T) {
	cfg := load(t)
	tests := []struct {
		name      string
		sel       Selection
		functions []string
		want      string
		wantErr   string
	}{
		{"all clusters, one function", Selection{All: true}, []string{"nodeinfo"},
			"openwhisk/ow1/nodeinfo openwhisk/ow2/nodeinfo google/g1/nodeinfo", ""},
		{"all functions of the scenario", Selection{All: true}, nil,
			"openwhisk/ow1/nodeinfo openwhisk/ow2/nodeinfo google/g1/nodeinfo openfaas/edge/other", ""},
		{"named clusters", Selection{OpenWhisk: []string{"ow2"}, Google: []string{"g1"}}, []string{"nodeinfo"},
			"openwhisk/ow2/nodeinfo google/g1/nodeinfo", ""},
		{"unknown cluster", Selection{OpenWhisk: []string{"nope"}}, nil, "", `no openwhisk cluster named "nope"`},
		{"unknown function", Selection{All: true}, []string{"ghost"}, "", `function "ghost" is not described`},
		{"platform the function lacks", Selection{OpenFaaS: []string{"edge"}}, []string{"nodeinfo"}, "", "nothing selected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ScenarioTargets(cfg, "test", tc.sel, tc.functions)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != tc.want {
				t.Errorf("targets\n got %s\nwant %s", names(got), tc.want)
			}
		})
	}
	if _, err := ScenarioTargets(cfg, "training", Selection{All: true}, nil); err == nil {
		t.Error("unknown scenario accepted")
	}
}
