package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
	gcfclient "github.com/fedkeeper/fedkeeper/faas/gcf"
	lambdaclient "github.com/fedkeeper/fedkeeper/faas/lambda"
	ofclient "github.com/fedkeeper/fedkeeper/faas/openfaas"
	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/lambda"
	"github.com/fedkeeper/fedkeeper/fabric/openfaas"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric/python"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
)

// writeFiles lays files (name → content) out under a new folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func zipNames(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

// A func_path that is Python becomes what each platform takes, and deployed to the
// local fabric through the adapters it answers; the kind, runtime and image follow the
// config, and the Go path is as before.
func TestPythonFunctionsArePackagedForEachPlatform(t *testing.T) {
	if err := python.Require(context.Background(), python.DefaultInterpreter, "flask"); err != nil {
		t.Fatal(err)
	}
	owFolder := writeFiles(t, map[string]string{"__main__.py": "from helper import hi\n\ndef main(args):\n    return {'said': hi()}\n",
		"helper.py": "def hi():\n    return 'hi from openwhisk'\n", "__pycache__/helper.cpython-311.pyc": "stale"})
	owFile := filepath.Join(writeFiles(t, map[string]string{"main.py": "def main(args):\n    return {'said': 'hi from a file'}\n"}), "main.py")
	gcfFolder := writeFiles(t, map[string]string{"main.py": "def nodeinfo(request):\n    return {'said': 'hi from cloud functions'}\n",
		"requirements.txt": "functions-framework==3.*\n"})
	ofFolder := writeFiles(t, map[string]string{"handler.py": "def handle(event, context):\n    return {'body': {'said': 'hi from openfaas'}}\n",
		"requirements.txt": "flask\n"})
	lambdaFolder := writeFiles(t, map[string]string{"lambda_function.py": "def lambda_handler(event, context):\n    return {'said': 'hi from ' + context.function_name}\n"})

	f, err := fabric.Start(context.Background(), fabric.Options{DataDir: t.TempDir(), OpenWhisk: &openwhisk.Options{Auth: openwhisk.GuestAuth},
		GCF: &gcf.Options{Token: "tok"}, OpenFaaS: &openfaas.Options{Password: "pw"},
		Lambda: &lambda.Options{AccessKeyID: "AKIATEST", SecretAccessKey: "s3cret", Region: "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	cfg := &config.Config{Providers: config.Providers{
		OpenWhisk: map[string]config.OpenWhiskCluster{"local": {}, "real": {Auth: config.OpenWhiskAuth{OWAPIHost: "https://whisk.example.org", OWAuth: "u:k"}}},
		Google:    map[string]config.GoogleCluster{"g": {}},
		OpenFaaS:  map[string]config.OpenFaaSCluster{"edge": {LocalImages: true}, "real": {Gateway: "https://gw.example.org"}},
		AWS:       map[string]config.AWSCluster{"lab": {}},
	}}
	b := NewBuilder(cfg, "/", t.TempDir(), deployment.Config{})
	ctx := context.Background()
	ow, _ := owclient.New(owclient.Options{APIHost: f.URL, Namespace: "guest", Auth: openwhisk.GuestAuth})
	g, _ := gcfclient.New(ctx, gcfclient.Options{Endpoint: f.URL + "/", Project: "p1", Region: "us-central1", Token: "tok"})
	of, _ := ofclient.New(ofclient.Options{Gateway: f.URL, User: "admin", Password: "pw"})
	aws, err := lambdaclient.New(ctx, lambdaclient.Options{Region: "eu-west-1", Endpoint: f.URL, Role: "arn:aws:iam::000000000000:role/t",
		AccessKeyID: "AKIATEST", SecretAccessKey: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		platform  config.Platform
		cluster   string
		fn        config.Function
		wantKind  string
		wantCode  func(code []byte) bool
		wantImage string // a prefix
		deployTo  faas.Provider
		wantSaid  string
	}{
		{"an OpenWhisk folder is a zip with __main__.py", config.OpenWhisk, "local",
			config.Function{OpenWhisk: &config.OpenWhiskFunction{FuncPath: owFolder, DockerImage: "kkyfury/tensorflow", Memory: 256, Timeout: 60000}},
			"python:3.11", func(code []byte) bool {
				return slices.Equal(zipNames(t, code), []string{"__main__.py", "helper.py"})
			}, "", ow, "hi from openwhisk"},
		{"a single .py file is the action's text, of the configured kind", config.OpenWhisk, "local",
			config.Function{OpenWhisk: &config.OpenWhiskFunction{FuncPath: owFile, Runtime: "python:3.10", Memory: 256, Timeout: 60000}},
			"python:3.10", func(code []byte) bool { return strings.HasPrefix(string(code), "def main(args):") }, "", ow, "hi from a file"},
		{"on a real cluster docker_image makes a docker action", config.OpenWhisk, "real",
			config.Function{OpenWhisk: &config.OpenWhiskFunction{FuncPath: owFolder, DockerImage: "kkyfury/tensorflow"}},
			"python:3.11", func(code []byte) bool { return len(code) > 0 }, "kkyfury/tensorflow", nil, ""},
		{"a Cloud Functions folder is its source zip, python311", config.Google, "g",
			config.Function{Google: &config.GoogleFunction{FuncPath: gcfFolder, EntryPoint: "nodeinfo", Timeout: "60s"}},
			"python311", func(code []byte) bool {
				return slices.Equal(zipNames(t, code), []string{"main.py", "requirements.txt"})
			}, "", g, "hi from cloud functions"},
		{"an OpenFaaS folder is laid out as faas-cli build does", config.OpenFaaS, "edge",
			config.Function{OpenFaaS: &config.OpenFaaSFunction{FuncPath: ofFolder}}, "", nil, "file://", of, "hi from openfaas"},
		{"a Lambda folder is a zip with the handler's module, python3.11", config.AWS, "lab",
			config.Function{AWS: &config.AWSFunction{FuncPath: lambdaFolder, Memory: 256, Timeout: "60s"}},
			"python3.11", func(code []byte) bool { return slices.Equal(zipNames(t, code), []string{"lambda_function.py"}) }, "", aws, "hi from nodeinfo"},
		{"a real gateway pulls docker_image", config.OpenFaaS, "real",
			config.Function{OpenFaaS: &config.OpenFaaSFunction{FuncPath: ofFolder, DockerImage: "registry.example.org/fn:1"}}, "", nil, "registry.example.org/fn:1", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn, err := b.Function(ctx, tc.platform, tc.cluster, "nodeinfo", tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			if fn.Kind != tc.wantKind || (tc.wantCode != nil && !tc.wantCode(fn.Code)) || !strings.HasPrefix(fn.Image, tc.wantImage) || (tc.wantImage == "") != (fn.Image == "") {
				t.Fatalf("kind %q image %q code %d bytes, want kind %q image %q", fn.Kind, fn.Image, len(fn.Code), tc.wantKind, tc.wantImage)
			}
			if tc.deployTo == nil {
				return
			}
			if tc.platform == config.OpenFaaS {
				if _, err := os.Stat(filepath.Join(strings.TrimPrefix(fn.Image, "file://"), "function", "handler.py")); err != nil {
					t.Errorf("image %s: %v", fn.Image, err)
				}
			}
			fn.Timeout = time.Minute
			if err := tc.deployTo.Deploy(ctx, fn); err != nil {
				t.Fatal(err)
			}
			act, err := tc.deployTo.(faas.Caller).Call(ctx, "nodeinfo", map[string]any{})
			var got struct{ Said string }
			if err == nil {
				err = json.Unmarshal(act.Result, &got)
			}
			if err != nil || !act.Success || got.Said != tc.wantSaid {
				t.Errorf("call: %+v %v, want %q", act, err, tc.wantSaid)
			}
		})
	}
}

// A Go source keeps its runtime: go122 when the config names none, as before Python
// functions were known.
func TestGoSourceKeepsItsRuntime(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	cfg := &config.Config{Providers: config.Providers{Google: map[string]config.GoogleCluster{"g": {}}}}
	b := NewBuilder(cfg, root, t.TempDir(), deployment.Config{})
	fn, err := b.Function(context.Background(), config.Google, "g", "nodeinfo", config.Function{Google: &config.GoogleFunction{FuncPath: "./functions/gcf"}})
	if err != nil {
		t.Fatal(err)
	}
	if fn.Kind != "go122" || !slices.Contains(zipNames(t, fn.Code), "go.mod") {
		t.Errorf("kind %q, files %q", fn.Kind, zipNames(t, fn.Code))
	}
}
