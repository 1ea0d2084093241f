package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/compare"
)

// attackConfig is ten clients on OpenWhisk, every one training in every round; the
// comparison's attack set makes three of them malicious.
const attackConfig = `name: attack
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 4
temporal:
  task_queue: attack
  ui_port: -1
stop:
  max_rounds: 3
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 10
      num_clients_per_round: 10
    data_sampling:
      model: mlp
    model_params:
      optim: sgd
      lr: 0.05
      local_epochs: 1
    round:
      min_clients_fraction: 1
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          timeout: 180000
`

// With 30% of the clients sending their update reversed and scaled five times, FedAvg
// follows them and learns nothing, while the median and Multi-Krum leave them out and
// learn as if they were not there; the comparison draws it.
func TestMaliciousClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	resolved, c, dir := stackWithWorker(ctx, t, attackConfig)

	set := compare.Attack()
	set.Variants = slices.DeleteFunc(set.Variants, func(v compare.Variant) bool {
		return !slices.Contains([]string{"fedavg", "fedmedian", "multi_krum"}, v.Name)
	})
	curves, err := compare.Run(ctx, c, resolved, set, compare.Options{Poll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	final := map[string]float64{}
	for _, cv := range curves {
		if cv.Err != "" || len(cv.Rounds) != 3 {
			t.Fatalf("%s: %d rounds, error %q", cv.Variant, len(cv.Rounds), cv.Err)
		}
		final[cv.Variant] = cv.Final()
	}
	t.Logf("final accuracy with 3 of 10 clients malicious: %v", final)
	if final["fedavg"] > 0.5 {
		t.Errorf("FedAvg reached %.4f under the attack; the attack should have stopped it learning", final["fedavg"])
	}
	for _, robust := range []string{"fedmedian", "multi_krum"} {
		if final[robust] < 0.75 || final[robust] < final["fedavg"]+0.3 {
			t.Errorf("%s reached %.4f under the attack (FedAvg %.4f); it should learn despite it", robust, final[robust], final["fedavg"])
		}
	}
	// Multi-Krum's record names the malicious clients it left out, every round.
	malicious := 3
	for _, cv := range curves {
		if cv.Variant != "multi_krum" {
			continue
		}
		for _, r := range cv.Rounds {
			if r.Counted != 10-malicious {
				t.Errorf("multi_krum round %d counted %d updates, want the %d honest ones", r.Round, r.Counted, 10-malicious)
			}
		}
	}
	figures := filepath.Join(dir, "comparison")
	md, err := compare.Write(figures, set, curves)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"attack.png", "attack.svg", "attack.csv"} {
		if info, err := os.Stat(filepath.Join(figures, name)); err != nil || info.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(md, "| fedavg | 3 |") || !strings.Contains(md, "| multi_krum | 3 |") {
		t.Errorf("comparison table:\n%s", md)
	}
}
