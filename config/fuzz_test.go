package config

import (
	"strings"
	"testing"
)

// FuzzParse feeds the loader arbitrary files: it must never panic, and every refusal
// must be one line starting with "config: ".
func FuzzParse(f *testing.F) {
	seeds := []string{
		"{}",
		"name: x\nstop:\n  max_rounds: 3\n",
		"scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 5\n      num_clients_per_round: 6\n",
		"providers:\n  openwhisk:\n    a: {}\n  google:\n    g:\n      base_url: https://us-central1-p.cloudfunctions.net/\n",
		"temporal: [1, 2]\n",
		"scenarios:\n  federated_learning:\n    model_params:\n      lr: \"1e-3\"\n      local_epochs: \"5\"\n",
		"\t- : :\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, yaml string) {
		cfg, err := Parse([]byte(yaml), func(string) (string, bool) { return "", false })
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: ") || strings.Contains(msg, "\n") {
				t.Fatalf("message %q is not one line starting with config:", msg)
			}
			return
		}
		// Whatever loads is valid and places every client.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded config fails validation: %v", err)
		}
		if got := len(cfg.ClientPlacements()); got != cfg.Scenarios.FederatedLearning.ClientsInfo.TotalNumClients {
			t.Fatalf("%d placements for %d clients", got, cfg.Scenarios.FederatedLearning.ClientsInfo.TotalNumClients)
		}
	})
}
