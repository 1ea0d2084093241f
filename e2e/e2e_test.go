// Package e2e runs whole experiments on the embedded stack: the real Temporal server,
// FerretDB speaking the MongoDB protocol, the local fabric speaking the OpenWhisk API and
// the fl_client function running as real processes.
package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/deploy"
	"github.com/fedkeeper/fedkeeper/embedded"
	"github.com/fedkeeper/fedkeeper/faas"
	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/report"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/weights"
	"github.com/fedkeeper/fedkeeper/workflows"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

const configTemplate = `name: e2e
data_dir: %[1]s/data
results_dir: %[1]s/results
seed: 3
temporal:
  task_queue: e2e
metrics:
  listen: 127.0.0.1:0
stop:
  max_rounds: 2
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
      relay_weights: true          # edge devices that cannot reach MongoDB
  aws:
    lab:
      endpoint: embedded
scenarios:
  federated_learning:
    server_config:                 # the seed's layout: the server's steps as functions
      server_cluster_name: local
      initialisation: function
      aggregation: function
    clients_info:
      total_num_clients: 8
      num_clients_per_round: 8
      ow_clients_count: 2
      gcf_clients_count: 2
      edge_clients_count: 2
      lambda_clients_count: 2
    data_sampling:
      model: mlp
      distribution: iid
    model_params:
      optim: adam
      lr: 1e-3
      local_epochs: 1
    round:
      min_clients_fraction: 1
      # Below the eight activations of a round: the rounds leave their runs to their
      # histories, as rounds of thousands of clients do, and the results are rebuilt.
      max_recorded_runs: 4
    functions:
      fl_client:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          timeout: 180000
        google:
          func_path: %[2]s/functions/gcf
          timeout: 180s
        openfaas:
          func_path: %[2]s/functions/openfaas
        aws:
          func_path: %[2]s/functions/lambda
          timeout: 180s
      fl_server_init:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
      fl_server_aggregator:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
  test:
    functions:
      nodeinfo:
        openwhisk:
          func_path: %[2]s/functions/openwhisk
          web: raw                 # as the seed's wsk action create --web raw
        google:
          func_path: %[2]s/functions/gcf
        openfaas:
          func_path: %[2]s/functions/openfaas
        aws:
          func_path: %[2]s/functions/lambda
`

func TestExperimentEndToEnd(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(configTemplate, dir, root)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, &logs), &slog.HandlerOptions{Level: slog.LevelInfo}))

	stack, err := embedded.Start(ctx, cfg, embedded.Options{FreePorts: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Stop()
	resolved := stack.Endpoints.Apply(cfg)

	c, err := bootstrap.Dial(ctx, resolved, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	workerMetrics, metricsAddr, err := bootstrap.ServeMetrics(ctx, resolved, logger, nil)
	if err != nil || workerMetrics == nil {
		t.Fatalf("metrics: %v", err)
	}
	acts, release, err := bootstrap.ActivitiesWithMetrics(ctx, resolved, dir, logger, workerMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	w := worker.New(c, resolved.Temporal.TaskQueue, worker.Options{Identity: "in-process-worker"})
	bootstrap.Register(w, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	// A second worker, the real binary in its own process, joins through the stack's
	// endpoints file: both share the experiment.
	workerBin := filepath.Join(dir, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", workerBin, "./worker")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	var workerLog bytes.Buffer
	second := exec.CommandContext(ctx, workerBin, "-config", cfgPath)
	second.Stdout, second.Stderr = &workerLog, &workerLog
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = second.Process.Kill()
		_ = second.Wait()
		if t.Failed() {
			t.Logf("second worker's log:\n%s", workerLog.String())
		}
	}()
	waitForPollers(ctx, t, c, resolved.Temporal.TaskQueue, 2)

	var out bytes.Buffer
	outcome, err := runner.Run(ctx, c, resolved, runner.Options{Out: &out, Poll: 200 * time.Millisecond})
	t.Logf("starter output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	id := outcome.Result.Experiment

	t.Run("result files", func(t *testing.T) { checkResultFiles(t, outcome, cfg) })
	t.Run("bill", func(t *testing.T) { checkBillFiles(t, outcome, cfg) })
	t.Run("mongodb holds every global version", func(t *testing.T) { checkMongo(ctx, t, resolved, id, outcome) })
	t.Run("temporal lists the experiment and its rounds", func(t *testing.T) { checkTemporal(ctx, t, c, resolved, id) })
	t.Run("round records show real activations", func(t *testing.T) { checkRoundRecords(ctx, t, c, id) })
	t.Run("the web UI filters rounds by their search attributes", func(t *testing.T) { checkSearchAttributes(ctx, t, c, resolved, outcome) })
	t.Run("clients.csv and the figures", func(t *testing.T) { checkClientsAndPlots(ctx, t, c, outcome) })
	t.Run("the workers' metrics endpoints", func(t *testing.T) {
		checkMetrics(ctx, t, c, resolved, outcome, []string{metricsAddr, metricsAddrIn(t, workerLog.String())})
	})
	t.Run("temporal and its web UI want the API key", func(t *testing.T) { checkTemporalAccess(ctx, t, resolved, stack.UIURL, stack.TemporalInternode(), id) })
	t.Run("forged calls cannot inject updates", func(t *testing.T) { checkForgedCalls(ctx, t, resolved, id) })
	t.Run("listing functions shows no secret", func(t *testing.T) { checkListingsHideSecrets(ctx, t, resolved, id) })
	t.Run("secrets stay out of histories, results and logs", func(t *testing.T) {
		checkSecrets(ctx, t, c, resolved, id, outcome.ResultsDir, logs.String()+out.String()+workerLog.String())
	})
	t.Run("deploy commands create and remove every function", func(t *testing.T) {
		checkDeployCommands(ctx, t, root, dir, cfgPath, resolved)
	})
	t.Run("the worker process reports its health and stops cleanly", func(t *testing.T) {
		checkHealthAndStop(ctx, t, resolved, metricsAddrIn(t, workerLog.String()), second, &workerLog)
	})

	if os.Getenv("FEDKEEPER_RECORD_HISTORY") != "" {
		recordHistory(ctx, t, c, id, filepath.Join(root, "workflows", "testdata", "experiment_history.json"))
		recordHistory(ctx, t, c, workflows.RoundWorkflowID(id, 1), filepath.Join(root, "workflows", "testdata", "round_history.json"))
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitForPollers returns once n workers poll the task queue.
func waitForPollers(ctx context.Context, t *testing.T, c client.Client, queue string, n int) {
	t.Helper()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err == nil && len(resp.GetPollers()) >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("fewer than %d workers poll %s: %v", n, queue, err)
		case <-ticker.C:
		}
	}
}

func checkResultFiles(t *testing.T, outcome runner.Outcome, cfg *config.Config) {
	s := outcome.Summary
	if s.Rounds != 2 || s.StoppedBecause != workflows.StopMaxRounds || s.WallSeconds <= 0 {
		t.Errorf("summary %+v", s)
	}
	data, err := os.ReadFile(filepath.Join(outcome.ResultsDir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk map[string]any
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"experiment", "rounds", "final_accuracy", "final_loss", "wall_seconds", "stopped_because"} {
		if _, ok := onDisk[key]; !ok {
			t.Errorf("summary.json lacks %s", key)
		}
	}
	if onDisk["experiment"] != outcome.Result.Experiment || onDisk["final_accuracy"].(float64) != s.FinalAccuracy {
		t.Errorf("summary.json %v", onDisk)
	}
	f, err := os.Open(filepath.Join(cfg.ResultsDir, outcome.Result.Experiment, "rounds.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(report.RoundsHeader, ",") || len(rows) != 3 {
		t.Fatalf("rounds.csv: %v", rows)
	}
	for i, row := range rows[1:] {
		if row[0] != fmt.Sprint(i+1) || row[1] != "8" {
			t.Errorf("row %d: %v", i+1, row)
		}
		r := outcome.Result.Rounds[i]
		if row[7] != fmt.Sprintf("%.4f", r.Accuracy) {
			t.Errorf("row %d accuracy %s, result %v", i+1, row[7], r.Accuracy)
		}
	}
}

func checkMongo(ctx context.Context, t *testing.T, cfg *config.Config, id string, outcome runner.Outcome) {
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	// A plain MongoDB client, as a user would connect.
	mongoClient, err := mongo.Connect(ctx, options.Client().ApplyURI(mc.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer mongoClient.Disconnect(context.Background())
	coll := mongoClient.Database(mc.DB).Collection(mc.Collection)
	cur, err := coll.Find(ctx, bson.M{"experiment": id}, options.Find().SetSort(bson.M{"version": 1}).SetBatchSize(4))
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("%d global versions stored, want 3 (v0 and one per round)", len(docs))
	}
	for v, doc := range docs {
		if fmt.Sprint(doc["version"]) != fmt.Sprint(v) && !(v == 0 && doc["version"] == nil) {
			t.Errorf("doc %d has version %v", v, doc["version"])
		}
		// With the embedded store the 1.6 MB of parameters are a file in the tensor
		// directory, under the name the document gives.
		blob, _ := doc["blob"].(string)
		if doc["where"] != "file" {
			t.Errorf("v%d is stored %q, want in the tensor directory", v, doc["where"])
		}
		fi, err := os.Stat(filepath.Join(mc.TensorDirectory(), blob))
		if err != nil || fi.Size() != 4*397510 || fi.Mode().Perm() != 0o600 {
			t.Errorf("v%d: tensor file %q: %v %v, want %d bytes of float32 readable by the owner only", v, blob, fi, err, 4*397510)
		}
	}
	// The weights decode and the final version beats the initial one on the test set.
	store, err := weights.Connect(ctx, weights.Options{URI: mc.URL, DB: mc.DB, Collection: mc.Collection, TensorDir: mc.TensorDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	infos, err := store.ListGlobals(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, info := range infos[1:] {
		r := outcome.Result.Rounds[i]
		if info.Version != r.Version || info.Metrics == nil || info.Metrics.Accuracy != r.Accuracy || info.Updates != 8 || len(info.Clients) != 8 {
			t.Errorf("stored v%d %+v does not match round %+v", info.Version, info, r)
		}
	}
	v0, err := store.GetGlobal(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	last, err := store.GetGlobal(ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(last.Params) != 397510 {
		t.Fatalf("v2 has %d parameters", len(last.Params))
	}
	_, test, err := bootstrap.Sources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before, after := evaluate(ctx, t, test, v0.Params), evaluate(ctx, t, test, last.Params)
	t.Logf("test accuracy v0 %.4f -> v2 %.4f", before, after)
	if after < 0.6 || after < before+0.3 {
		t.Errorf("accuracy did not rise enough: v0 %.4f, v2 %.4f", before, after)
	}
	if after != outcome.Result.FinalAccuracy {
		t.Errorf("stored v2 scores %.4f, the experiment reported %.4f", after, outcome.Result.FinalAccuracy)
	}
	n, err := mongoClient.Database(mc.DB).Collection(mc.Collection+"_updates").CountDocuments(ctx, bson.M{"experiment": id})
	if err != nil || n != 0 {
		t.Errorf("%d client updates left after aggregation (%v)", n, err)
	}
	// fl_server_init recorded every client's share of the data.
	parts, err := store.GetPartitions(ctx, id)
	if err != nil || len(parts.Clients) != 8 || parts.Clients[7].Samples != 600 || parts.Scheme != "iid" {
		t.Errorf("partitions %+v %v", parts, err)
	}
	// Every file in the tensor directory is described in MongoDB: the aggregation removed
	// the updates' files along with their descriptions.
	described := map[string]bool{}
	for _, name := range []string{mc.Collection, mc.Collection + "_updates"} {
		cur, err := mongoClient.Database(mc.DB).Collection(name).Find(ctx, bson.M{"where": "file"}, options.Find().SetProjection(bson.M{"blob": 1}))
		if err != nil {
			t.Fatal(err)
		}
		var refs []struct {
			Blob string `bson:"blob"`
		}
		if err := cur.All(ctx, &refs); err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			described[r.Blob] = true
		}
	}
	files, err := os.ReadDir(mc.TensorDirectory())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !described[f.Name()] {
			t.Errorf("tensor file %s is described by no document", f.Name())
		}
	}
	if len(files) < 3 {
		t.Errorf("%d tensor files, want at least this experiment's 3 global versions", len(files))
	}
}

func checkTemporal(ctx context.Context, t *testing.T, c client.Client, cfg *config.Config, id string) {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: cfg.Temporal.Namespace,
		Query:     fmt.Sprintf("WorkflowType = '%s'", workflows.RoundWorkflowName),
	})
	if err != nil {
		t.Fatal(err)
	}
	var rounds []string
	for _, e := range resp.Executions {
		if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Errorf("%s is %v", e.GetExecution().GetWorkflowId(), e.GetStatus())
		}
		if e.GetParentExecution().GetWorkflowId() != id {
			t.Errorf("%s has parent %q", e.GetExecution().GetWorkflowId(), e.GetParentExecution().GetWorkflowId())
		}
		rounds = append(rounds, e.GetExecution().GetWorkflowId())
	}
	sort.Strings(rounds)
	want := []string{workflows.RoundWorkflowID(id, 1), workflows.RoundWorkflowID(id, 2)}
	if strings.Join(rounds, ",") != strings.Join(want, ",") {
		t.Errorf("round workflows %v, want %v", rounds, want)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("experiment status %v", desc.GetWorkflowExecutionInfo().GetStatus())
	}

	// Both workers ran activities of this experiment.
	identities := map[string]int{}
	for _, wid := range append([]string{id}, want...) {
		iter := c.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				identities[a.GetIdentity()]++
			}
		}
	}
	if len(identities) < 2 || identities["in-process-worker"] == 0 {
		t.Errorf("activities ran on %v, want both workers", identities)
	}
}

var activationID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func checkRoundRecords(ctx context.Context, t *testing.T, c client.Client, id string) {
	cold := 0
	platforms := map[string]int{}
	for round := 1; round <= 2; round++ {
		var raw workflows.RoundResult
		if err := c.GetWorkflow(ctx, workflows.RoundWorkflowID(id, round), "").Get(ctx, &raw); err != nil {
			t.Fatal(err)
		}
		if !raw.RunsInHistory {
			t.Errorf("round %d kept all its runs in its result despite max_recorded_runs 4", round)
		}
		res, err := runner.RoundRecord(ctx, c, id, round)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Selected) != 8 || len(res.Outcomes) != 8 {
			t.Fatalf("round %d: %+v", round, res)
		}
		for _, o := range res.Outcomes {
			// Clients 0-1 on OpenWhisk, 2-3 on Cloud Functions, 4-5 on the OpenFaaS edge,
			// 6-7 on Lambda.
			want := map[int]string{0: "openwhisk/local", 1: "openwhisk/local", 2: "google/local", 3: "google/local",
				4: "openfaas/edge", 5: "openfaas/edge", 6: "aws/lab", 7: "aws/lab"}[o.Client]
			platforms[o.Platform]++
			if !o.Counted || o.Platform+"/"+o.Cluster != want || len(o.Runs) == 0 {
				t.Errorf("round %d client %d: %+v", round, o.Client, o)
				continue
			}
			run := o.Runs[len(o.Runs)-1]
			if o.Platform == "openwhisk" && !activationID.MatchString(run.ActivationID) {
				t.Errorf("round %d client %d: activation id %q", round, o.Client, run.ActivationID)
			}
			if run.ActivationID == "" || run.Status != "success" || run.Samples != 600 || run.End.Before(run.Start) {
				t.Errorf("round %d client %d run %+v", round, o.Client, run)
			}
			if o.Platform == "aws" && (run.BilledSeconds <= 0 || run.MaxMemoryMB <= 0 || (run.ColdStart && run.InitSeconds <= 0)) {
				t.Errorf("round %d client %d: Lambda's REPORT line did not reach the record: %+v", round, o.Client, run)
			}
			if run.ColdStart {
				cold++
			}
		}
	}
	if cold < 4 {
		t.Errorf("%d cold starts, want one per platform at least: the functions did not start as processes", cold)
	}
	if platforms["openwhisk"] != 4 || platforms["google"] != 4 || platforms["openfaas"] != 4 || platforms["aws"] != 4 {
		t.Errorf("clients per platform over two rounds: %v", platforms)
	}
}

func evaluate(ctx context.Context, t *testing.T, src mnist.Source, params []float32) float64 {
	t.Helper()
	test, err := mnist.Load(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := model.NewEvaluator(model.Spec{Kind: model.MLP, Hidden: 500}, test.Images, test.Labels, 500)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	m, err := ev.Evaluate(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	return m.Accuracy
}

func recordHistory(ctx context.Context, t *testing.T, c client.Client, id, path string) {
	iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events of %s in %s", len(h.Events), id, path)
}

// checkDeployCommands runs the cluster test (the seed's deploy.py) as a user would,
// against the running stack, and removes the experiment's functions as starter -r does.
func checkDeployCommands(ctx context.Context, t *testing.T, root, dir, cfgPath string, cfg *config.Config) {
	bin := filepath.Join(dir, "deploy")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/deploy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build deploy: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		cmd := exec.CommandContext(ctx, bin, append([]string{"-config", cfgPath}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("deploy %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("-a", "-s", "test", "-f", "nodeinfo", "-d")
	for _, target := range []string{"openwhisk/local/nodeinfo", "google/local/nodeinfo", "openfaas/edge/nodeinfo", "aws/lab/nodeinfo"} {
		if !regexp.MustCompile(`deployed\s+`+target).MatchString(out) || !regexp.MustCompile(`called\s+`+target+`\s+host `).MatchString(out) {
			t.Errorf("%s not deployed and called:\n%s", target, out)
		}
	}
	providers, err := bootstrap.Providers(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(key, name string) bool {
		caller := providers[key].(faas.Caller)
		_, err := caller.Call(ctx, name, map[string]string{})
		return !errors.Is(err, faas.ErrFunctionMissing)
	}
	if !exists("openfaas/edge", "nodeinfo") {
		t.Error("nodeinfo is not on the edge gateway after deploy -d")
	}
	// The OpenWhisk action is a raw web action too, for callers with the namespace key.
	webURL := providers["openwhisk/local"].(*owclient.Client).WebURL("nodeinfo")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, webURL, strings.NewReader(`{"via":"web"}`))
	user, pass, _ := strings.Cut(cfg.Providers.OpenWhisk["local"].Auth.OWAuth, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Hostname string            `json:"hostname"`
		Echo     map[string]string `json:"echo"`
	}
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || info.Hostname == "" || info.Echo["via"] != "web" {
		t.Errorf("web action: HTTP %d, %+v", resp.StatusCode, info)
	}
	out = run("-o", "local", "-g", "local", "-e", "edge", "-l", "lab", "-s", "test", "-f", "nodeinfo", "-r")
	for _, key := range []string{"openwhisk/local", "google/local", "openfaas/edge", "aws/lab"} {
		if !strings.Contains(out, "removed   "+key+"/nodeinfo") {
			t.Errorf("%s/nodeinfo not removed:\n%s", key, out)
		}
		if exists(key, "nodeinfo") {
			t.Errorf("%s/nodeinfo still answers after deploy -r", key)
		}
	}
	// starter -r: the experiment's client functions leave every cluster.
	targets, err := deploy.ExperimentTargets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := deploy.Remove(ctx, providers, targets, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, target := range targets {
		if exists(target.ProviderKey(), target.Function) {
			t.Errorf("%s still answers after removal", target)
		}
	}
}

// checkSecrets looks for every credential of the run in what users and operators read:
// the workflow histories (the Web UI), the result files and the logs.
func checkSecrets(ctx context.Context, t *testing.T, c client.Client, cfg *config.Config, id, resultsDir, logs string) {
	key, err := bootstrap.TokenKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	metricsToken, err := bootstrap.MetricsToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"token key": key, "Temporal API key": cfg.Temporal.APIKey, "metrics token": metricsToken}
	for name, ow := range cfg.Providers.OpenWhisk {
		_, k, _ := strings.Cut(ow.Auth.OWAuth, ":")
		secrets["OpenWhisk key of "+name] = k
	}
	for name, g := range cfg.Providers.Google {
		secrets["Cloud Functions token of "+name] = g.AccessToken
	}
	for name, o := range cfg.Providers.OpenFaaS {
		secrets["OpenFaaS password of "+name] = o.Auth.Password
	}
	for name, a := range cfg.Providers.AWS {
		secrets["AWS secret access key of "+name] = a.SecretAccessKey
	}
	var texts []string
	ids := []string{id, workflows.RoundWorkflowID(id, 1), workflows.RoundWorkflowID(id, 2)}
	for _, wid := range ids {
		iter := c.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var h historypb.History
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, ev)
		}
		data, _ := protojson.Marshal(&h)
		texts = append(texts, "history of "+wid+"\x00"+string(data))
	}
	for _, f := range []string{"rounds.csv", "summary.json"} {
		data, err := os.ReadFile(filepath.Join(resultsDir, f))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, f+"\x00"+string(data))
	}
	texts = append(texts, "logs\x00"+logs)
	if !strings.Contains(logs, "embedded") {
		t.Fatal("the logs were not captured")
	}
	for _, text := range texts {
		where, body, _ := strings.Cut(text, "\x00")
		for what, secret := range secrets {
			if secret == "" {
				t.Errorf("%s is empty", what)
				continue
			}
			if strings.Contains(body, secret) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
}
