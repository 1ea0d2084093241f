package e2e

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
	"github.com/fedkeeper/fedkeeper/loopback"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/weights"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// crashConfig is a three-round experiment on all three platforms. Every client trains
// in every round and training is deterministic, so a run that loses or double-counts
// nothing ends with exactly the models of an uninterrupted run. The Temporal frontend
// has a fixed port, so a restarted stack comes back where it was.
const crashConfig = `name: crash
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 5
%[4]s
temporal:
  task_queue: crash
  frontend_port: %[3]d
  ui_port: -1
stop:
  max_rounds: 3
providers:
  openwhisk:
    local:
      auth:
        ow_api_host: embedded
  google:
    local:
      api_endpoint: embedded
  openfaas:
    edge:
      gateway: embedded
      relay_weights: true
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 6
      num_clients_per_round: 6
      ow_clients_count: 2
      gcf_clients_count: 2
      edge_clients_count: 2
    data_sampling:
      distribution: iid
    model_params:
      optim: sgd
      lr: 0.05
      local_epochs: 1
    round:
      max_attempts: 5
      min_clients_fraction: 1
      # Batches of three by default (newCrashEnv): each folds its updates into a
      # running sum, so a killed worker's batch is resumed and its sum rebuilt, and
      # every version must still be the uninterrupted run's, bit for bit.
      clients_per_activity: %[5]d
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          timeout: 120000
        google:
          func_path: %[2]s/functions/gcf
          timeout: 120s
        openfaas:
          func_path: %[2]s/functions/openfaas
`

// crashEnv is one scenario's folder, config and binaries.
type crashEnv struct {
	t      *testing.T
	root   string
	dir    string
	path   string
	cfg    *config.Config
	logger *slog.Logger
}

// newCrashEnv writes the scenario's config, its rounds in two batches of three
// clients; extra is more top-level YAML.
func newCrashEnv(t *testing.T, root string, extra ...string) *crashEnv {
	t.Helper()
	return newCrashEnvBatched(t, root, 3, extra...)
}

// newCrashEnvBatched is newCrashEnv with perActivity clients to a batch.
func newCrashEnvBatched(t *testing.T, root string, perActivity int, extra ...string) *crashEnv {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(crashConfig, dir, root, freePort(t), strings.Join(extra, "\n"), perActivity)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The server's own warnings explain a stuck run.
		if log, err := os.ReadFile(filepath.Join(dir, "data", "temporal.log")); err == nil && t.Failed() {
			t.Logf("temporal.log (last 8 KB):\n%s", log[max(0, len(log)-8192):])
		}
	})
	return &crashEnv{t: t, root: root, dir: dir, path: path, cfg: cfg,
		logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

// startStack brings up the scenario's embedded stack for the test's lifetime and
// returns the resolved config and a client of it.
func (e *crashEnv) startStack(ctx context.Context) (*config.Config, client.Client) {
	e.t.Helper()
	stack, err := embedded.Start(ctx, e.cfg, embedded.Options{FreePorts: true, Logger: e.logger})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(stack.Stop)
	resolved := stack.Endpoints.Apply(e.cfg)
	c, err := bootstrap.Dial(ctx, resolved, e.logger)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(c.Close)
	return resolved, c
}

// stackWithWorker writes a config from template (%[1]s is the test's folder, %[2]s the
// repository), starts its embedded stack and a worker in this process for the test's
// lifetime, and returns the resolved config, a client and the folder.
func stackWithWorker(ctx context.Context, t *testing.T, template string) (*config.Config, client.Client, string) {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(template, dir, root)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e := &crashEnv{t: t, root: root, dir: dir, path: path, cfg: cfg,
		logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	resolved, c := e.startStack(ctx)
	stopWorker, err := bootstrap.StartWorker(ctx, c, resolved, root, e.logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopWorker)
	return resolved, c, dir
}

// runInBackground starts the config's experiment through the runner, as a starter
// without a worker of its own would, and returns a wait for its outcome.
func runInBackground(ctx context.Context, c client.Client, cfg *config.Config) func(t *testing.T) runner.Outcome {
	done := make(chan runner.Outcome, 1)
	failed := make(chan error, 1)
	go func() {
		out, err := runner.Run(ctx, c, cfg, runner.Options{Poll: 200 * time.Millisecond})
		if err != nil {
			failed <- err
			return
		}
		done <- out
	}()
	return func(t *testing.T) runner.Outcome {
		t.Helper()
		select {
		case out := <-done:
			return out
		case err := <-failed:
			t.Fatal(err)
		}
		return runner.Outcome{}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func listRunning(cfg *config.Config) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: cfg.Temporal.Namespace,
		Query:     fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.ExperimentWorkflowName),
	}
}

// binaries are built once for all scenarios.
var binaries sync.Map

func binary(t *testing.T, root, pkg string) string {
	t.Helper()
	if path, ok := binaries.Load(pkg); ok {
		return path.(string)
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("fedkeeper-e2e-%d-%s", os.Getpid(), filepath.Base(pkg)))
	build := exec.Command("go", "build", "-o", out, "./"+pkg)
	build.Dir = root
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, msg)
	}
	binaries.Store(pkg, out)
	return out
}

// proc is a running binary whose output the test watches.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	seen  chan struct{} // closed and replaced at every new line
	done  chan struct{}
}

func (e *crashEnv) start(bin string, args ...string) *proc {
	e.t.Helper()
	cmd := exec.Command(bin, append([]string{"-config", e.path}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	p := &proc{cmd: cmd, seen: make(chan struct{}), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.seen)
			p.seen = make(chan struct{})
			p.mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	e.t.Cleanup(func() {
		p.kill()
		if e.t.Failed() {
			e.t.Logf("output of %s:\n%s", filepath.Base(bin), p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ""
	for _, l := range p.lines {
		s += l + "\n"
	}
	return s
}

// waitFor returns the first output line matching re, waiting for it.
func (p *proc) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for next := 0; ; {
		p.mu.Lock()
		for ; next < len(p.lines); next++ {
			if re.MatchString(p.lines[next]) {
				line := p.lines[next]
				p.mu.Unlock()
				return line
			}
		}
		seen := p.seen
		p.mu.Unlock()
		select {
		case <-seen:
		case <-p.done:
			p.mu.Lock()
			for ; next < len(p.lines); next++ {
				if re.MatchString(p.lines[next]) {
					line := p.lines[next]
					p.mu.Unlock()
					return line
				}
			}
			p.mu.Unlock()
			t.Fatalf("the process ended without printing %q:\n%s", re, p.output())
		case <-deadline:
			t.Fatalf("no line matching %q after %v:\n%s", re, timeout, p.output())
		}
	}
}

// kill is kill -9.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// waitExit waits for the process to end and returns its exit code.
func (p *proc) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("still running after %v:\n%s", timeout, p.output())
	}
	return -1
}

// waitForRound returns once round n of the experiment has started.
func waitForRound(ctx context.Context, t *testing.T, c client.Client, id string, n int) {
	t.Helper()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	// A round takes seconds; five minutes without one means the run is stuck, and the
	// other cases should keep their time.
	deadline := time.After(5 * time.Minute)
	var last string
	for {
		// A query waits for a worker to answer until its context ends; without a bound of
		// its own one unanswered query would use up the whole test's time.
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		value, err := c.QueryWorkflow(qctx, id, "", workflows.ProgressQuery)
		cancel()
		if err == nil {
			var p workflows.Progress
			if err = value.Get(&p); err == nil && p.CurrentRound >= n {
				return
			}
			last = fmt.Sprintf("progress %+v", p)
		}
		if err != nil {
			last = "query: " + err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("round %d never started (last %s)", n, last)
		case <-deadline:
			t.Fatalf("round %d not started after 5 minutes (last %s)", n, last)
		case <-ticker.C:
		}
	}
}

// runningExperiment returns the id of the config's running experiment.
func runningExperiment(ctx context.Context, t *testing.T, c client.Client, cfg *config.Config) string {
	t.Helper()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		resp, err := c.ListWorkflow(ctx, listRunning(cfg))
		if err == nil {
			for _, e := range resp.Executions {
				return e.GetExecution().GetWorkflowId()
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no experiment started")
		case <-ticker.C:
		}
	}
}

// baselineRun is what the uninterrupted run left: each round's accuracy and each global
// version's SHA-256, v0 first.
type baselineRun struct {
	accuracies []float64
	checksums  []string
}

// globals reads an experiment's global versions.
func globals(ctx context.Context, t *testing.T, cfg *config.Config, experiment string) []weights.GlobalInfo {
	t.Helper()
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	store, err := weights.Connect(ctx, weights.Options{URI: mc.URL, DB: mc.DB, Collection: mc.Collection, TensorDir: mc.TensorDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	infos, err := store.ListGlobals(ctx, experiment)
	if err != nil {
		t.Fatal(err)
	}
	return infos
}

// check compares a finished experiment with the uninterrupted baseline: every global
// version must be exactly the baseline's (its SHA-256), and MongoDB's audit of what
// each version counted must show every client once.
func check(ctx context.Context, t *testing.T, cfg *config.Config, res workflows.ExperimentResult, baseline baselineRun) {
	t.Helper()
	if len(res.Rounds) != len(baseline.accuracies) || res.StoppedBecause != workflows.StopMaxRounds {
		t.Fatalf("result %+v, want %d rounds", res, len(baseline.accuracies))
	}
	for i, r := range res.Rounds {
		if r.Accuracy != baseline.accuracies[i] {
			t.Errorf("round %d: accuracy %v, the uninterrupted run reached %v", i+1, r.Accuracy, baseline.accuracies[i])
		}
	}
	infos := globals(ctx, t, cfg, res.Experiment)
	if len(infos) != len(baseline.checksums) {
		t.Fatalf("%d global versions, want %d", len(infos), len(baseline.checksums))
	}
	for v, info := range infos {
		if info.Version != v {
			t.Errorf("version %d stored as %d: versions must move forward one by one", v, info.Version)
		}
		if info.Checksum != baseline.checksums[v] {
			t.Errorf("v%d has SHA-256 %.16s…, the uninterrupted run's %.16s…: not the same model", v, info.Checksum, baseline.checksums[v])
		}
		if v > 0 {
			checkAudit(t, info)
		}
	}
}

// checkAudit reads a version's audit of the updates it counted: six clients of 600
// examples each, every one once.
func checkAudit(t *testing.T, info weights.GlobalInfo) {
	t.Helper()
	seen, samples := map[int]bool{}, 0
	for _, ref := range info.Counted {
		if seen[ref.Client] || ref.Round != info.Version || ref.Checksum == "" || ref.Attempt < 1 {
			t.Errorf("v%d's audit lists %+v: twice, for another round, or without its attempt and checksum", info.Version, ref)
		}
		seen[ref.Client] = true
		samples += ref.Samples
	}
	if len(seen) != 6 || samples != 3600 || info.Samples != samples || info.Updates != 6 {
		t.Errorf("v%d counted %d clients, %d samples by its audit (%d recorded, %d updates); want all 6 once", info.Version, len(seen), samples, info.Samples, info.Updates)
	}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash recovery runs whole experiments; -short leaves it out")
	}
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		binaries.Range(func(_, path any) bool {
			os.Remove(path.(string))
			return true
		})
	})

	// The uninterrupted run, in process.
	var baseline baselineRun
	{
		e := newCrashEnv(t, root)
		stack, err := embedded.Start(ctx, e.cfg, embedded.Options{FreePorts: true, Logger: e.logger})
		if err != nil {
			t.Fatal(err)
		}
		resolved := stack.Endpoints.Apply(e.cfg)
		c, err := bootstrap.Dial(ctx, resolved, e.logger)
		if err != nil {
			t.Fatal(err)
		}
		stopWorker, err := bootstrap.StartWorker(ctx, c, resolved, e.dir, e.logger)
		if err != nil {
			t.Fatal(err)
		}
		out, err := runner.Run(ctx, c, resolved, runner.Options{Poll: 200 * time.Millisecond})
		stopWorker()
		c.Close()
		if err != nil {
			stack.Stop()
			t.Fatal(err)
		}
		for _, r := range out.Result.Rounds {
			baseline.accuracies = append(baseline.accuracies, r.Accuracy)
		}
		for _, info := range globals(ctx, t, resolved, out.Result.Experiment) {
			baseline.checksums = append(baseline.checksums, info.Checksum)
		}
		stack.Stop()
	}

	t.Run("a worker killed mid-round", func(t *testing.T) {
		e := newCrashEnv(t, root)
		resolved, c := e.startStack(ctx)
		workerBin := binary(t, root, "worker")
		doomed := e.start(workerBin)
		e.start(workerBin)
		waitForPollers(ctx, t, c, resolved.Temporal.TaskQueue, 2)
		wait := runInBackground(ctx, c, resolved)
		id := runningExperiment(ctx, t, c, resolved)
		waitForRound(ctx, t, c, id, 2)
		doomed.kill()
		res := wait(t).Result
		check(ctx, t, resolved, res, baseline)
		for _, r := range res.Rounds {
			if r.Merged != 6 {
				t.Errorf("round %d merged %d updates from its batches' running sums, want all 6", r.Round, r.Merged)
			}
		}
	})

	t.Run("three workers share the rounds, one stopped mid-round", func(t *testing.T) {
		threeWorkersOneStopped(ctx, t, root, baseline)
	})

	t.Run("the starter killed mid-round and started again", func(t *testing.T) {
		e := newCrashEnv(t, root)
		starterBin := binary(t, root, "starter")
		first := e.start(starterBin)
		first.waitFor(t, regexp.MustCompile(`^round +1/3`), 5*time.Minute)
		first.kill()
		second := e.start(starterBin)
		second.waitFor(t, regexp.MustCompile(`still running: resuming`), time.Minute)
		if code := second.waitExit(t, 10*time.Minute); code != 0 {
			t.Fatalf("the resumed starter exited %d:\n%s", code, second.output())
		}
		// Look at what it left with the stack brought up again on the same data.
		stack, err := embedded.Start(ctx, e.cfg, embedded.Options{FreePorts: true, Logger: e.logger})
		if err != nil {
			t.Fatal(err)
		}
		defer stack.Stop()
		resolved := stack.Endpoints.Apply(e.cfg)
		c, err := bootstrap.Dial(ctx, resolved, e.logger)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		id := regexp.MustCompile(`experiment (crash-\S+) finished`).FindStringSubmatch(second.output())
		if id == nil {
			t.Fatalf("no finished experiment in:\n%s", second.output())
		}
		var res workflows.ExperimentResult
		if err := c.GetWorkflow(ctx, id[1], "").Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		check(ctx, t, resolved, res, baseline)
	})

	t.Run("the process hosting Temporal killed mid-round and started again", func(t *testing.T) {
		e := newCrashEnv(t, root)
		stackBin := binary(t, root, "stack")
		host := e.start(stackBin)
		host.waitFor(t, regexp.MustCompile(`^running`), 2*time.Minute)
		endpoints, err := discovery.Find(e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		resolved := endpoints.Apply(e.cfg)
		e.start(binary(t, root, "worker"))
		c, err := bootstrap.Dial(ctx, resolved, e.logger)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		waitForPollers(ctx, t, c, resolved.Temporal.TaskQueue, 1)
		wait := runInBackground(ctx, c, resolved)
		id := runningExperiment(ctx, t, c, resolved)
		waitForRound(ctx, t, c, id, 2)
		host.kill()
		again := e.start(stackBin)
		again.waitFor(t, regexp.MustCompile(`^running`), 2*time.Minute)
		if now, err := discovery.Find(e.cfg); err != nil || now.TemporalHostPort != endpoints.TemporalHostPort || now.MongoURI != endpoints.MongoURI {
			t.Fatalf("the stack came back elsewhere: %+v (was %+v) %v", now, endpoints, err)
		}
		check(ctx, t, resolved, wait(t).Result, baseline)
	})
}
