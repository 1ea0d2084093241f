package discovery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
