package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/workflows"
)

func seedConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.ResultsDir = t.TempDir()
	return cfg
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// The seed log gains a line as each round finishes, as the seed's did, and a resumed
// starter, which sees every finished round again, leaves it whole.
func TestSeedLogGrowsPerRound(t *testing.T) {
	cfg := seedConfig(t, "name: mnist\nseed_log: {format: accuracy_time}")
	rounds := []workflows.RoundSummary{{Round: 1, Accuracy: 0.5}, {Round: 2, Accuracy: 0.6}, {Round: 3, Accuracy: 0.7}}
	path := filepath.Join(cfg.ResultsDir, "mnist-20261128-021916", "log_mnist.log")

	d := newDisplay(io.Discard, 3, false, false)
	d.seed = newSeedLog(cfg, "mnist-20261128-021916")
	for n := 1; n <= 2; n++ {
		d.rounds(rounds[:n])
		got := lines(t, path)
		if len(got) != n || !strings.HasPrefix(got[n-1], fmt.Sprintf("Iter: %d,", n-1)) {
			t.Fatalf("after round %d: %q", n, got)
		}
	}

	resumed := newDisplay(io.Discard, 3, false, false)
	resumed.seed = newSeedLog(cfg, "mnist-20261128-021916")
	resumed.rounds(rounds)
	if err := resumed.seed.finish(rounds); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, path); len(got) != 3 || !strings.Contains(got[2], "Accuracy: 0.700") {
		t.Errorf("after resuming: %q", got)
	}
}

func TestSeedLogPath(t *testing.T) {
	tests := []struct {
		yaml string
		want string // relative to the results folder; "" for no log
	}{
		{"name: mnist", ""},
		{"name: mnist\nseed_log: {format: training_time}", "exp/log_mnist.log"},
		{"name: mnist\nseed_log: {format: training_time, path: PATH}", "elsewhere/log_nn_10_acc_iter.log"},
	}
	for _, tc := range tests {
		cfg := seedConfig(t, tc.yaml)
		if strings.Contains(tc.yaml, "PATH") {
			cfg.SeedLog.Path = filepath.Join(cfg.ResultsDir, "elsewhere", "log_nn_10_acc_iter.log")
		}
		l := newSeedLog(cfg, "exp")
		switch {
		case tc.want == "" && l != nil:
			t.Errorf("%q: a log at %s", tc.yaml, l.path)
		case tc.want != "" && (l == nil || l.path != filepath.Join(cfg.ResultsDir, tc.want)):
			t.Errorf("%q: log %+v, want %s", tc.yaml, l, tc.want)
		}
	}
}
