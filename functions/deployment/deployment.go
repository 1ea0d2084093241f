// Package deployment is what a FedKeeper function learns from its deployment rather
// than from a request: the token key, the MongoDB address (with its password), the
// tensor directory and, for the relay, the clients it may call. The keeper hands them
// over through each platform's own mechanism, and a function reads them here:
//
//   - OpenWhisk: action parameters marked init, which the platform passes to the
//     container as environment variables at its start and never in an activation's
//     parameters; the action is annotated final, so a request cannot override them.
//     OpenWhisk shows bound parameters to the namespace's owner.
//   - Cloud Functions: secret environment variables, references to Secret Manager
//     secrets that the platform resolves when an instance starts; the function's
//     description shows the reference, not the value.
//   - OpenFaaS: gateway secrets, files in /var/openfaas/secrets (FEDKEEPER_SECRETS_DIR
//     elsewhere, as in the local fabric, whose functions are plain processes); listing
//     functions shows their names only.
//   - AWS Lambda: environment variables, which Lambda encrypts at rest and shows only to
//     principals allowed lambda:GetFunctionConfiguration.
//
// Settings that are not secret (the tensor directory) are plain environment variables.
package deployment

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Setting names one value a function is deployed with. It arrives in the environment
// variable Env(), or as the secret Secret() where the platform has secrets.
type Setting string

// The settings.
const (
	TokenKey     Setting = "token-key"
	MongoURI     Setting = "mongo-uri"
	RelayTargets Setting = "relay-targets"
	// TensorDir is not secret: a plain environment variable everywhere.
	TensorDir Setting = "tensor-dir"
)

// Env is the setting's environment variable, e.g. FEDKEEPER_TOKEN_KEY.
func (s Setting) Env() string {
	return "FEDKEEPER_" + strings.ToUpper(strings.ReplaceAll(string(s), "-", "_"))
}

// Secret is the name of the setting's secret, e.g. fedkeeper-token-key; "" for a
// setting that is not secret.
func (s Setting) Secret() string {
	if s == TensorDir {
		return ""
	}
	return "fedkeeper-" + string(s)
}

// Secrets are the settings that are secret.
func Secrets() []Setting { return []Setting{TokenKey, MongoURI, RelayTargets} }

// SecretsDirEnv overrides OpenFaaS's secrets directory, DefaultSecretsDir.
const (
	SecretsDirEnv     = "FEDKEEPER_SECRETS_DIR"
	DefaultSecretsDir = "/var/openfaas/secrets"
)

// Config is what a function was deployed with.
type Config struct {
	TokenKey  string
	MongoURI  string
	TensorDir string
	// Relay maps a relayed cluster ("platform/cluster") to its client function.
	Relay map[string]Target
}

// Target is a client function's HTTP endpoint and the headers (credentials) it needs.
type Target struct {
	URL    string            `json:"url"`
	Header map[string]string `json:"header,omitempty"`
}

// Load reads the deployment from the process's environment and secret files.
func Load() (Config, error) {
	c := Config{TokenKey: Lookup(TokenKey), MongoURI: Lookup(MongoURI), TensorDir: Lookup(TensorDir)}
	if raw := Lookup(RelayTargets); raw != "" {
		if err := json.Unmarshal([]byte(raw), &c.Relay); err != nil {
			return Config{}, fmt.Errorf("deployment: %s is not a JSON object of targets: %w", RelayTargets.Env(), err)
		}
	}
	return c, nil
}

// Lookup returns a setting's value: its environment variable, else its secret file.
func Lookup(s Setting) string {
	if v := os.Getenv(s.Env()); v != "" {
		return v
	}
	if s.Secret() == "" {
		return ""
	}
	dir := os.Getenv(SecretsDirEnv)
	if dir == "" {
		dir = DefaultSecretsDir
	}
	data, err := os.ReadFile(filepath.Join(dir, s.Secret()))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// ErrNoStore is a function that needs MongoDB and was deployed without its address.
var ErrNoStore = errors.New("this function was deployed without a MongoDB address (FEDKEEPER_MONGO_URI); deploy it with FedKeeper, or relay its weights")
