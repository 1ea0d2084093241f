package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fedkeeper/fedkeeper/functions/deployment"
)

// A relative func_path is the config file's folder's; failing that, the working
// folder's, so a config outside the repository finds ./functions when run from it.
func TestFuncPathsResolve(t *testing.T) {
	configDir, workDir := t.TempDir(), t.TempDir()
	for _, dir := range []string{filepath.Join(configDir, "mine"), filepath.Join(workDir, "functions", "openwhisk"), filepath.Join(configDir, "both"), filepath.Join(workDir, "both")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(workDir)
	b := NewBuilder(nil, configDir, t.TempDir(), deployment.Config{})
	tests := []struct{ path, want string }{
		{"./mine", filepath.Join(configDir, "mine")},
		{"./functions/openwhisk", filepath.Join(workDir, "functions", "openwhisk")},
		{"both", filepath.Join(configDir, "both")},
		{"./missing", filepath.Join(configDir, "missing")},
		{"/abs/path", "/abs/path"},
	}
	for _, tc := range tests {
		if got := b.resolve(tc.path); got != tc.want {
			t.Errorf("resolve(%q) = %s, want %s", tc.path, got, tc.want)
		}
	}
}
