package deploy

import (
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
)

// A function is deployed with what it needs and nothing more: no secret for the
// cluster test's nodeinfo, the key alone where weights are relayed (the cluster never
// learns MongoDB's address), and the relay learns the relayed clusters.
func TestFunctionsGetOnlyTheSettingsTheyNeed(t *testing.T) {
	cfg := load(t)
	edge := cfg.Providers.OpenFaaS["edge"]
	edge.RelayWeights, edge.Gateway, edge.Auth.User, edge.Auth.Password = true, "http://127.0.0.1:9/", "admin", "pw"
	cfg.Providers.OpenFaaS["edge"] = edge
	dep := deployment.Config{TokenKey: "k", MongoURI: "mongodb://u:p@db/", TensorDir: "/shared/tensors"}
	b := NewBuilder(cfg, ".", t.TempDir(), dep)
	tests := []struct {
		platform              config.Platform
		cluster, function     string
		secrets               []deployment.Setting
		tensorDir, relayEdges bool
	}{
		{config.OpenWhisk, "ow1", "nodeinfo", nil, false, false},
		{config.OpenWhisk, "ow1", "fl_client", []deployment.Setting{deployment.TokenKey, deployment.MongoURI}, true, false},
		{config.Google, "g1", "fl_client", []deployment.Setting{deployment.TokenKey, deployment.MongoURI}, true, false},
		{config.OpenFaaS, "edge", "fl_client", []deployment.Setting{deployment.TokenKey}, false, false},
		{config.OpenWhisk, "ow2", "fl_invoker_weights_update", []deployment.Setting{deployment.TokenKey, deployment.MongoURI, deployment.RelayTargets}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.cluster+"/"+tc.function, func(t *testing.T) {
			env, secrets := b.settings(tc.platform, tc.cluster, tc.function)
			if len(secrets) != len(tc.secrets) {
				t.Errorf("secrets %v, want %v", secrets, tc.secrets)
			}
			for _, s := range tc.secrets {
				if secrets[s] == "" {
					t.Errorf("no %s", s)
				}
			}
			if got := env[deployment.TensorDir.Env()] != ""; got != tc.tensorDir {
				t.Errorf("tensor directory given: %v, want %v", got, tc.tensorDir)
			}
			if tc.relayEdges && secrets[deployment.RelayTargets] != `{"openfaas/edge":{"url":"http://127.0.0.1:9/function/fl_client","header":{"Authorization":"Basic YWRtaW46cHc="}}}` {
				t.Errorf("relay targets %s", secrets[deployment.RelayTargets])
			}
		})
	}
}
