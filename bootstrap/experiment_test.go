package bootstrap

import (
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// The config becomes the experiment's parameters: synthetic data as a Spec rooted in
// the seed (IID without alpha and beta) and no partition; MNIST as before, with no
// synthetic Spec; stragglers kept by FedProx only.
func TestExperimentParams(t *testing.T) {
	const synth = "seed: 9\nscenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 30\n      num_clients_per_round: 10\n    data_sampling:\n      dataset: synthetic\n"
	const stragglers = "    model_params:\n      local_epochs: 20\n    stragglers:\n      fraction: 0.5\n"
	tests := []struct {
		name       string
		yaml       string
		synthetic  synthetic.Spec
		partition  partition.Scheme
		stragglers workflows.StragglerSpec
	}{
		{"synthetic(1,1)", synth, synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 9}, "", workflows.StragglerSpec{}},
		{"synthetic(0.5,0)", synth + "      alpha: 0.5\n      beta: 0\n", synthetic.Spec{Alpha: 0.5, Devices: 30, Seed: 9}, "", workflows.StragglerSpec{}},
		{"synthetic-iid", synth + "      distribution: iid\n", synthetic.Spec{IID: true, Devices: 30, Seed: 9}, "", workflows.StragglerSpec{}},
		{"fedavg drops stragglers", synth + stragglers, synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 9}, "", workflows.StragglerSpec{Fraction: 0.5}},
		{"fedprox keeps them", synth + stragglers + "    strategy:\n      name: fedprox\n      proximal_mu: 0\n",
			synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 9}, "", workflows.StragglerSpec{Fraction: 0.5, Keep: true}},
		{"mnist", "seed: 9\n", synthetic.Spec{}, partition.NonIID, workflows.StragglerSpec{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.yaml), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			p := Experiment(cfg, "e")
			if p.Synthetic != tc.synthetic || p.Partition.Scheme != tc.partition || p.Stragglers != tc.stragglers {
				t.Errorf("synthetic %+v, partition %+v, stragglers %+v", p.Synthetic, p.Partition, p.Stragglers)
			}
			if tc.synthetic.On() && (p.Model.Kind != "mclr" || p.Partition != (partition.Spec{})) {
				t.Errorf("model %+v, partition %+v", p.Model, p.Partition)
			}
		})
	}
}
