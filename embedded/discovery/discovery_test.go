package discovery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
)

// The endpoints file survives restarts with the stack's credentials: a missing one is a
// fresh start, a damaged one an error that says what to do, never new credentials.
func TestReadRefusesADamagedFile(t *testing.T) {
	dir := t.TempDir()
	if e, err := Read(dir); err != nil || e.TemporalAPIKey != "" {
		t.Fatalf("no file: %+v %v", e, err)
	}
	want := Endpoints{TemporalHostPort: "127.0.0.1:7233", TemporalAPIKey: "k", PID: 42}
	if err := Write(File(dir), want); err != nil {
		t.Fatal(err)
	}
	if e, err := Read(dir); err != nil || e.TemporalAPIKey != "k" || e.PID != 42 {
		t.Fatalf("written file: %+v %v", e, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stack.json"), []byte(`{"temporal_api_key": "k", trunc`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Read(dir)
	if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), "stack.json") {
		t.Fatalf("damaged file: %v", err)
	}
}

// An embedded Lambda cluster is reached with the fabric's generated key alone: the
// developer's own AWS credentials (a profile, a session token) are never sent to it.
func TestEmbeddedLambdaTakesTheFabricsKeyOnly(t *testing.T) {
	cfg := &config.Config{Providers: config.Providers{AWS: map[string]config.AWSCluster{
		"lab":  {Endpoint: config.Embedded, Profile: "work", SessionToken: "real-session"},
		"real": {Region: "eu-west-1", Role: "arn:aws:iam::123456789012:role/fl", Profile: "work"},
	}}}
	e := Endpoints{AWS: map[string]AWSEndpoint{"lab": {Endpoint: "http://127.0.0.1:9", Region: "us-east-1",
		Role: "arn:aws:iam::000000000000:role/x", AccessKeyID: "AKIAFABRIC", SecretAccessKey: "fabric-secret"}}}
	got := e.Apply(cfg).Providers.AWS
	want := config.AWSCluster{Endpoint: "http://127.0.0.1:9", Region: "us-east-1", Role: "arn:aws:iam::000000000000:role/x",
		AccessKeyID: "AKIAFABRIC", SecretAccessKey: "fabric-secret"}
	if got["lab"] != want {
		t.Errorf("the embedded cluster resolves to %+v, want %+v", got["lab"], want)
	}
	if got["real"] != cfg.Providers.AWS["real"] {
		t.Errorf("a real cluster changed: %+v", got["real"])
	}
}
