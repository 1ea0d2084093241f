package sdk

import (
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
)

// Weights inline must be what the signed task names, and only then: a caller cannot
// slip its own global model beside a task, nor strip the one the task asks for.
func TestTaskAndInlineWeightsMustAgree(t *testing.T) {
	base := Task{Experiment: "e", Round: 1, Client: 0, Attempt: 1,
		Data:  Data{Train: mnist.Source{ImagesURL: "file:///i", LabelsURL: "file:///l"}, Partition: partition.Spec{NumClients: 2}},
		Store: Store{DB: "d", Collection: "c"}}
	synth := base
	synth.Data = Data{Synthetic: synthetic.Spec{Alpha: 1, Beta: 1, Devices: 30, Seed: 1}}
	relayed := base
	relayed.Store, relayed.InlineSHA256 = Store{}, "abc"
	tests := []struct {
		name   string
		task   Task
		inline *invocation.Weights
		want   string // "" for valid
	}{
		{"stored weights, nothing inline", base, nil, ""},
		{"relayed weights that match", relayed, &invocation.Weights{Checksum: "abc"}, ""},
		{"weights the task does not name", base, &invocation.Weights{Checksum: "abc"}, "does not name"},
		{"other weights than the task names", relayed, &invocation.Weights{Checksum: "evil"}, "does not carry"},
		{"the named weights missing", relayed, nil, "does not carry"},
		{"attempt 0", func() Task { t := base; t.Attempt = 0; return t }(), nil, "attempt"},
		{"synthetic data", synth, nil, ""},
		{"the last synthetic device", func() Task { t := synth; t.Client = 29; return t }(), nil, ""},
		{"past the synthetic devices", func() Task { t := synth; t.Client = 30; return t }(), nil, "outside 0..29"},
		{"synthetic data with MNIST files", func() Task { t := synth; t.Data.Train = base.Data.Train; return t }(), nil, "no training files"},
		{"synthetic data with a partition", func() Task { t := synth; t.Data.Partition = base.Data.Partition; return t }(), nil, "no partition"},
		{"a bad synthetic spec", func() Task { t := synth; t.Data.Synthetic.Beta = -1; return t }(), nil, "data.synthetic: beta"},
		{"no data", func() Task { t := base; t.Data = Data{Partition: partition.Spec{NumClients: 2}}; return t }(), nil, "images_url and labels_url are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.task.validate(tc.inline)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
