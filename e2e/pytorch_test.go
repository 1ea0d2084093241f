package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"golang.org/x/oauth2"
	"google.golang.org/api/cloudfunctions/v1"
	"google.golang.org/api/option"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/config"
	fabricpython "github.com/fedkeeper/fedkeeper/fabric/python"
	"github.com/fedkeeper/fedkeeper/runner"
	"github.com/fedkeeper/fedkeeper/weights"
)

// pytorchExperiment is experiments/pytorch.yaml as a template of the tests' own: its
// folders in the test's, its paths absolute, Temporal on a queue of its own.
func pytorchExperiment(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "experiments", "pytorch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "%", "%%")
	for old, replacement := range map[string]string{
		"\nresults_dir: results": "\nresults_dir: %[1]s/results\ntemporal:\n  task_queue: pytorch\n  ui_port: -1",
		"\ndata_dir: .fedkeeper": "\ndata_dir: %[1]s/data",
		": ../":                  ": %[2]s/",
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("experiments/pytorch.yaml no longer holds %q", old)
		}
		text = strings.ReplaceAll(text, old, replacement)
	}
	return text
}

// experiments/pytorch.yaml on the real stack: on every platform one client is the Go
// fl_client and one the PyTorch example on the Python SDK, deployed as Python (each
// platform's API says so), and every round averages both languages' updates into a
// global model that learns; each stored version reads the same in both SDKs.
func TestGoAndPyTorchClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := fabricpython.Require(ctx, "", "numpy", "pymongo", "flask", "torch"); err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	resolved, c, _ := stackWithWorker(ctx, t, pytorchExperiment(t, root))
	outcome, err := runner.Run(ctx, c, resolved, runner.Options{Poll: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rounds := outcome.Result.Rounds
	if len(rounds) == 0 {
		t.Fatal("no rounds")
	}
	for _, r := range rounds {
		rec, err := runner.RoundRecord(ctx, c, outcome.Result.Experiment, r.Round)
		if err != nil {
			t.Fatal(err)
		}
		counted := map[string]int{}
		for _, o := range rec.Outcomes {
			if o.Counted {
				counted[o.Function+" on "+o.Platform]++
			}
		}
		if !oneOfEach(counted) {
			t.Errorf("round %d counted %v; want one update of each function on each platform", r.Round, counted)
		}
	}
	svg, err := os.ReadFile(filepath.Join(outcome.ResultsDir, "function_durations.svg"))
	if err != nil || !strings.Contains(string(svg), "fl_client (") || !strings.Contains(string(svg), "pytorch_client (") {
		t.Errorf("function_durations.svg does not compare the two functions (%v)", err)
	}
	checkPythonDeployments(ctx, t, resolved)
	checkVersionsInBothSDKs(ctx, t, root, resolved, outcome)
}

// oneOfEach reports whether counted holds one update of each language's function on
// each platform, and nothing else.
func oneOfEach(counted map[string]int) bool {
	n := 0
	for _, fn := range []string{"fl_client", "pytorch_client"} {
		for _, p := range []string{"openwhisk", "google", "openfaas", "aws"} {
			if counted[fn+" on "+p] != 1 {
				return false
			}
			n++
		}
	}
	return len(counted) == n
}

// checkPythonDeployments asks each platform's API what it runs as pytorch_client.
func checkPythonDeployments(ctx context.Context, t *testing.T, cfg *config.Config) {
	t.Helper()
	ow := cfg.Providers.OpenWhisk["local"]
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(ow.Auth.OWAPIHost, "/")+"/api/v1/namespaces/_/actions/pytorch_client?code=false", nil)
	user, pass, _ := strings.Cut(ow.Auth.OWAuth, ":")
	req.SetBasicAuth(user, pass)
	var action struct {
		Exec struct {
			Kind string `json:"kind"`
		} `json:"exec"`
	}
	if err := json.Unmarshal([]byte(fetch(t, req)), &action); err != nil || !strings.HasPrefix(action.Exec.Kind, "python:3") {
		t.Errorf("OpenWhisk runs pytorch_client as kind %q (%v), want python:3.x", action.Exec.Kind, err)
	}
	g := cfg.Providers.Google["local"]
	svc, err := cloudfunctions.NewService(ctx, option.WithEndpoint(g.APIEndpoint),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: g.AccessToken})))
	if err != nil {
		t.Fatal(err)
	}
	project, region := g.ProjectAndRegion()
	fn, err := svc.Projects.Locations.Functions.Get(fmt.Sprintf("projects/%s/locations/%s/functions/pytorch_client", project, region)).Context(ctx).Do()
	if err != nil || !strings.HasPrefix(fn.Runtime, "python3") {
		t.Errorf("Cloud Functions runs pytorch_client on %v (%v), want a python3xx runtime", fn, err)
	}
	edge := cfg.Providers.OpenFaaS["edge"]
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(edge.Gateway, "/")+"/system/function/pytorch_client", nil)
	req.SetBasicAuth(edge.Auth.User, edge.Auth.Password)
	var status struct {
		Image string `json:"image"`
	}
	if err := json.Unmarshal([]byte(fetch(t, req)), &status); err != nil {
		t.Fatal(err)
	}
	// The embedded gateway's image is the python3-http build folder: the example's
	// handler with the SDK the keeper put beside it.
	folder := strings.TrimPrefix(status.Image, "file://")
	handler, err := os.ReadFile(filepath.Join(folder, "function", "handler.py"))
	if err != nil || !strings.Contains(string(handler), "in PyTorch") {
		t.Errorf("OpenFaaS runs pytorch_client from %q, not the PyTorch handler (%v)", status.Image, err)
	}
	if _, err := os.Stat(filepath.Join(folder, "function", "fedkeeper", "serving.py")); err != nil {
		t.Errorf("the SDK is not beside the OpenFaaS handler: %v", err)
	}
	checkLambdaRuntime(ctx, t, cfg.Providers.AWS["lab"])
}

// checkLambdaRuntime asks Lambda, through the AWS SDK, what runs pytorch_client.
func checkLambdaRuntime(ctx context.Context, t *testing.T, c config.AWSCluster) {
	t.Helper()
	api := awslambda.New(awslambda.Options{Region: c.Region, BaseEndpoint: aws.String(c.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")})
	fn, err := api.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("pytorch_client")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := fn.Configuration; !strings.HasPrefix(string(cfg.Runtime), "python3.") || aws.ToString(cfg.Handler) != "lambda_function.lambda_handler" {
		t.Errorf("Lambda runs pytorch_client as %s with handler %s, want python3.x with lambda_function.lambda_handler", cfg.Runtime, aws.ToString(cfg.Handler))
	}
}

// readVersionsScript prints, for each global version named on its command line, the
// SHA-256 of the parameters the Python SDK read (float32, little-endian) and their count.
const readVersionsScript = `
import hashlib, json, sys
import numpy as np
from fedkeeper.store import Store
uri, db, coll, tensors, experiment = sys.argv[1:6]
store = Store(uri, db, coll, tensors)
out = {}
for v in sys.argv[6:]:
    w = store.get_global(experiment, int(v))
    out[v] = [hashlib.sha256(w.params.astype("<f4").tobytes()).hexdigest(), int(w.params.size)]
store.close()
json.dump(out, sys.stdout)
`

// checkVersionsInBothSDKs reads every global version with Go's store and the Python
// SDK's, compares them, and checks the model learnt.
func checkVersionsInBothSDKs(ctx context.Context, t *testing.T, root string, cfg *config.Config, outcome runner.Outcome) {
	t.Helper()
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	store, err := weights.Connect(ctx, weights.Options{URI: mc.URL, DB: mc.DB, Collection: mc.Collection, TensorDir: mc.TensorDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	id := outcome.Result.Experiment
	args := []string{"-c", readVersionsScript, mc.URL, mc.DB, mc.Collection, mc.TensorDirectory(), id}
	goRead := map[string][]any{}
	var first, last []float32
	for v := 0; v <= len(outcome.Result.Rounds); v++ {
		g, err := store.GetGlobal(ctx, id, v)
		if err != nil {
			t.Fatalf("Go reads v%d: %v", v, err)
		}
		data, _ := weights.Encode(g.Params)
		sum := sha256.Sum256(data)
		goRead[fmt.Sprint(v)] = []any{hex.EncodeToString(sum[:]), float64(len(g.Params))}
		args = append(args, fmt.Sprint(v))
		if v == 0 {
			first = g.Params
		}
		last = g.Params
	}
	cmd := exec.CommandContext(ctx, fabricpython.DefaultInterpreter, args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "python"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the Python SDK reads the versions: %v\n%s", err, stderrText(err))
	}
	pyRead := map[string][]any{}
	if err := json.Unmarshal(out, &pyRead); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if fmt.Sprint(pyRead) != fmt.Sprint(goRead) {
		t.Errorf("the SDKs read different versions:\nPython %v\nGo     %v", pyRead, goRead)
	}
	_, test, err := bootstrap.Sources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before, after := evaluate(ctx, t, test, first), evaluate(ctx, t, test, last)
	t.Logf("test accuracy v0 %.4f -> v%d %.4f", before, len(outcome.Result.Rounds), after)
	if after < 0.6 || after < before+0.3 {
		t.Errorf("accuracy did not rise enough: v0 %.4f, last %.4f", before, after)
	}
}

func stderrText(err error) string {
	if exit, ok := err.(*exec.ExitError); ok {
		return string(exit.Stderr)
	}
	return ""
}
