package config

import (
	"slices"
	"testing"
)

func TestClusterNamesOrder(t *testing.T) {
	tests := []struct {
		name      string
		providers Providers
		want      []string
	}{
		{"none", Providers{}, nil},
		{"each platform sorted, OpenWhisk first", Providers{
			OpenWhisk: map[string]OpenWhiskCluster{"ow-b": {}, "ow-a": {}},
			Google:    map[string]GoogleCluster{"g-z": {}, "g-a": {}},
			OpenFaaS:  map[string]OpenFaaSCluster{"edge-2": {}, "edge-1": {}},
		}, []string{"ow-a", "ow-b", "g-a", "g-z", "edge-1", "edge-2"}},
		{"platforms are not sorted among themselves", Providers{
			OpenWhisk: map[string]OpenWhiskCluster{"z": {}},
			OpenFaaS:  map[string]OpenFaaSCluster{"a": {}},
		}, []string{"z", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Providers: tc.providers}
			if got := c.ClusterNames(); !slices.Equal(got, tc.want) {
				t.Errorf("ClusterNames() = %v, want %v", got, tc.want)
			}
		})
	}
}
