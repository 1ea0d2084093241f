package sdk

import (
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
)

// Weights inline must be what the signed task names, and only then: a caller cannot
// slip its own global model beside a task, nor strip the one the task asks for.
func TestTaskAndInlineWeightsMustAgree(t *testing.T) {
	base := Task{Experiment: "e", Round: 1, Client: 0, Attempt: 1,
		Data:  Data{Train: mnist.Source{ImagesURL: "file:///i", LabelsURL: "file:///l"}, Partition: partition.Spec{NumClients: 2}},
		Store: Store{DB: "d", Collection: "c"}}
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
