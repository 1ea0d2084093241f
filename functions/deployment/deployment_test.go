package deployment

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSettingNames(t *testing.T) {
	tests := []struct {
		s           Setting
		env, secret string
	}{
		{TokenKey, "FEDKEEPER_TOKEN_KEY", "fedkeeper-token-key"},
		{MongoURI, "FEDKEEPER_MONGO_URI", "fedkeeper-mongo-uri"},
		{RelayTargets, "FEDKEEPER_RELAY_TARGETS", "fedkeeper-relay-targets"},
		{TensorDir, "FEDKEEPER_TENSOR_DIR", ""},
	}
	for _, tc := range tests {
		if tc.s.Env() != tc.env || tc.s.Secret() != tc.secret {
			t.Errorf("%s: env %q secret %q, want %q %q", tc.s, tc.s.Env(), tc.s.Secret(), tc.env, tc.secret)
		}
	}
}

// A setting comes from its environment variable, else from its secret file (OpenFaaS);
// a setting that is not secret has no file.
func TestLoadReadsEnvironmentAndSecretFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(SecretsDirEnv, dir)
	t.Setenv(TokenKey.Env(), "")
	t.Setenv(MongoURI.Env(), "mongodb://from-env/")
	t.Setenv(TensorDir.Env(), "")
	for name, value := range map[string]string{"fedkeeper-token-key": "k-from-file\n", "fedkeeper-mongo-uri": "mongodb://from-file/",
		"fedkeeper-relay-targets": `{"openfaas/edge":{"url":"http://edge/function/fl_client"}}`, "fedkeeper-tensor-dir": "/nowhere"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenKey != "k-from-file" || c.MongoURI != "mongodb://from-env/" || c.TensorDir != "" || c.Relay["openfaas/edge"].URL != "http://edge/function/fl_client" {
		t.Errorf("loaded %+v", c)
	}
	if err := os.WriteFile(filepath.Join(dir, "fedkeeper-relay-targets"), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(); err == nil {
		t.Error("malformed relay targets loaded")
	}
}
