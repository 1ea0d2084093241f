package gcf_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	cloudfunctions "google.golang.org/api/cloudfunctions/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/fedkeeper/fedkeeper/faas"
	gcfclient "github.com/fedkeeper/fedkeeper/faas/gcf"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

const token = "test-token-0123456789"

// source packs functions/gcf once for all tests.
var source = sync.OnceValues(func() ([]byte, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return pack.GCFSource(context.Background(), filepath.Join(root, "functions", "gcf"), root)
})

type env struct {
	url    string
	client *gcfclient.Client
	svc    *cloudfunctions.Service // Google's client straight, as any user would use it
}

func start(t *testing.T, opts gcf.Options) *env {
	t.Helper()
	opts.Token = token
	f, err := fabric.Start(context.Background(), fabric.Options{DataDir: t.TempDir(), GCF: &opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	ctx := context.Background()
	c, err := gcfclient.New(ctx, gcfclient.Options{Endpoint: f.URL + "/", Project: "p1", Region: "us-central1", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cloudfunctions.NewService(ctx, option.WithEndpoint(f.URL+"/"),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})))
	if err != nil {
		t.Fatal(err)
	}
	return &env{url: f.URL, client: c, svc: svc}
}

func deploy(t *testing.T, e *env, name string) {
	t.Helper()
	src, err := source()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := e.client.Deploy(ctx, faas.Function{Name: name, Code: src, Kind: "go122", MemoryMB: 256, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
}

type nodeInfo struct {
	PID      int               `json:"pid"`
	Platform map[string]string `json:"platform"`
	Echo     map[string]any    `json:"echo"`
}

func call(t *testing.T, e *env, name string, params any) (faas.Activation, nodeInfo) {
	t.Helper()
	act, err := e.client.Call(context.Background(), name, params)
	if err != nil {
		t.Fatal(err)
	}
	var info nodeInfo
	if err := json.Unmarshal(act.Result, &info); err != nil {
		t.Fatalf("result %s: %v", act.Result, err)
	}
	return act, info
}

func TestDeployCallUpdateRemove(t *testing.T) {
	e := start(t, gcf.Options{})
	ctx := context.Background()
	deploy(t, e, "nodeinfo")

	cf, err := e.client.Get(ctx, "nodeinfo")
	if err != nil {
		t.Fatal(err)
	}
	if cf.Status != "ACTIVE" || cf.VersionId != 1 || cf.EntryPoint != "nodeinfo" || cf.Runtime != "go122" ||
		cf.HttpsTrigger == nil || !strings.HasPrefix(cf.HttpsTrigger.Url, e.url+"/gcf/p1/us-central1/nodeinfo") ||
		strings.Contains(cf.SourceUploadUrl, "Signature") {
		t.Fatalf("resource %+v trigger %+v", cf, cf.HttpsTrigger)
	}

	first, info := call(t, e, "nodeinfo", map[string]any{"hello": "gcf"})
	if !first.Success || !first.ColdStart || first.ID == "" {
		t.Fatalf("first call %+v", first)
	}
	if info.Platform["FUNCTION_TARGET"] != "nodeinfo" || info.Platform["K_SERVICE"] != "nodeinfo" || info.Echo["hello"] != "gcf" {
		t.Errorf("the function saw %+v", info)
	}
	second, again := call(t, e, "nodeinfo", nil)
	if second.ColdStart || again.PID != info.PID {
		t.Errorf("warm instance not reused: cold %v, pid %d then %d", second.ColdStart, info.PID, again.PID)
	}

	// The API's call method passes data as the body and the answer as a string.
	id, result, err := e.client.CallMethod(ctx, "nodeinfo", `{"via":"call"}`)
	if err != nil || id == "" || !strings.Contains(result, `"via":"call"`) {
		t.Errorf("call method: %q %q %v", id, result, err)
	}

	// An update builds a new version; its instances replace the old ones.
	deploy(t, e, "nodeinfo")
	if cf, _ := e.client.Get(ctx, "nodeinfo"); cf.VersionId != 2 {
		t.Errorf("version after update %d", cf.VersionId)
	}
	third, updated := call(t, e, "nodeinfo", nil)
	if !third.ColdStart || updated.PID == info.PID {
		t.Errorf("old instance served the new version: cold %v pid %d", third.ColdStart, updated.PID)
	}

	list, err := e.svc.Projects.Locations.Functions.List("projects/p1/locations/us-central1").PageSize(10).Do()
	if err != nil || len(list.Functions) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}

	if err := e.client.Remove(ctx, "nodeinfo"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Get(ctx, "nodeinfo"); !errors.Is(err, faas.ErrFunctionMissing) {
		t.Errorf("get after remove: %v", err)
	}
	if _, err := e.client.Call(ctx, "nodeinfo", nil); !errors.Is(err, faas.ErrFunctionMissing) {
		t.Errorf("call after remove: %v", err)
	}
	if err := e.client.Remove(ctx, "nodeinfo"); err != nil {
		t.Errorf("removing a missing function: %v", err)
	}
}

func TestDocumentedErrors(t *testing.T) {
	e := start(t, gcf.Options{CallsPer100s: 2})
	ctx := context.Background()
	deploy(t, e, "nodeinfo")
	parent := "projects/p1/locations/us-central1"
	fns := e.svc.Projects.Locations.Functions

	// Create over an existing name: the call succeeds, its operation fails.
	up, err := fns.GenerateUploadUrl(parent, &cloudfunctions.GenerateUploadUrlRequest{}).Do()
	if err != nil {
		t.Fatal(err)
	}
	src, _ := source()
	put(t, up.UploadUrl, src)
	op, err := fns.Create(parent, &cloudfunctions.CloudFunction{Name: parent + "/functions/nodeinfo", Runtime: "go122",
		SourceUploadUrl: up.UploadUrl, HttpsTrigger: &cloudfunctions.HttpsTrigger{}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	op = waitOp(t, e, op)
	if op.Error == nil || op.Error.Code != 6 {
		t.Errorf("create over an existing function: %+v", op.Error)
	}

	status := func(err error) int {
		var gerr *googleapi.Error
		if errors.As(err, &gerr) {
			return gerr.Code
		}
		return 0
	}
	tests := []struct {
		name string
		do   func() error
		want int
	}{
		{"missing function", func() error { _, err := fns.Get(parent + "/functions/ghost").Do(); return err }, 404},
		{"unsupported runtime", func() error {
			_, err := fns.Create(parent, &cloudfunctions.CloudFunction{Name: parent + "/functions/py", Runtime: "python37",
				SourceUploadUrl: up.UploadUrl, HttpsTrigger: &cloudfunctions.HttpsTrigger{}}).Do()
			return err
		}, 400},
		{"name outside the parent", func() error {
			_, err := fns.Create(parent, &cloudfunctions.CloudFunction{Name: "projects/other/locations/x/functions/f", Runtime: "go122",
				SourceUploadUrl: up.UploadUrl, HttpsTrigger: &cloudfunctions.HttpsTrigger{}}).Do()
			return err
		}, 400},
		{"source not uploaded here", func() error {
			_, err := fns.Create(parent, &cloudfunctions.CloudFunction{Name: parent + "/functions/f", Runtime: "go122",
				SourceUploadUrl: "https://storage.example.org/x.zip", HttpsTrigger: &cloudfunctions.HttpsTrigger{}}).Do()
			return err
		}, 400},
		{"missing operation", func() error { _, err := e.svc.Operations.Get("operations/nope").Do(); return err }, 404},
	}
	for _, tc := range tests {
		if got := status(tc.do()); got != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}

	// The call method's quota (set to 2 here; GCF's is 16 per 100 s).
	for i := 0; i < 2; i++ {
		if _, _, err := e.client.CallMethod(ctx, "nodeinfo", "{}"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.client.CallMethod(ctx, "nodeinfo", "{}"); !errors.Is(err, faas.ErrThrottled) {
		t.Errorf("call over quota: %v", err)
	}

	// No credentials, or wrong ones: 401 on the API and on the trigger.
	for _, auth := range []string{"", "Bearer wrong"} {
		for _, url := range []string{e.url + "/v1/" + parent + "/functions", e.url + "/gcf/p1/us-central1/nodeinfo"} {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %q: %d", url, auth, resp.StatusCode)
			}
		}
	}
}

func TestBrokenSourceFailsTheOperation(t *testing.T) {
	e := start(t, gcf.Options{})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("go.mod")
	w.Write([]byte("module broken.example\n\ngo 1.22\n"))
	w, _ = zw.Create("fn.go")
	w.Write([]byte("package fn\n\nfunc oops( {\n"))
	zw.Close()
	err := e.client.Deploy(context.Background(), faas.Function{Name: "broken", Code: buf.Bytes(), Kind: "go122"})
	if err == nil || !strings.Contains(err.Error(), "Build failed") || !errors.Is(err, faas.ErrRejected) {
		t.Fatalf("deploy of broken source: %v", err)
	}
	if _, err := e.client.Get(context.Background(), "broken"); !errors.Is(err, faas.ErrFunctionMissing) {
		t.Errorf("a failed create left the function: %v", err)
	}
}

func put(t *testing.T, url string, data []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/zip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
}

func waitOp(t *testing.T, e *env, op *cloudfunctions.Operation) *cloudfunctions.Operation {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !op.Done {
		if time.Now().After(deadline) {
			t.Fatalf("operation %s not done", op.Name)
		}
		next, err := e.svc.Operations.Get(op.Name).Do()
		if err != nil {
			t.Fatal(err)
		}
		op = next
	}
	return op
}

// A function's secrets live in the fabric's Secret Manager: describing and listing the
// function shows the references, an instance gets the values, and deploying again with
// the same value adds no version.
func TestSecretEnvironmentVariables(t *testing.T) {
	e := start(t, gcf.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	src, err := source()
	if err != nil {
		t.Fatal(err)
	}
	const key = "a-key-only-instances-see"
	fn := faas.Function{Name: "fl_client", Code: src, Kind: "go122", Timeout: time.Minute,
		Secrets: map[deployment.Setting]string{deployment.TokenKey: key}}
	for range 2 {
		if err := e.client.Deploy(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.svc.Projects.Locations.Functions.List("projects/p1/locations/us-central1").Do()
	if err != nil || len(list.Functions) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	refs := list.Functions[0].SecretEnvironmentVariables
	if len(refs) != 1 || refs[0].Key != "FEDKEEPER_TOKEN_KEY" || refs[0].Secret != "fedkeeper-token-key" || refs[0].Version != "1" {
		t.Errorf("secret references %+v, want FEDKEEPER_TOKEN_KEY from fedkeeper-token-key version 1", refs)
	}
	data, _ := json.Marshal(list)
	if strings.Contains(string(data), key) {
		t.Errorf("listing functions shows the key: %s", data)
	}
	// The instance holds the key: a request it signed gets past the token check.
	for _, tc := range []struct {
		signedWith, want string
	}{{key, "store db and collection are required"}, {"a guessed key", "invalid token"}} {
		req, err := invocation.Seal(tc.signedWith, invocation.KindClient, map[string]any{"experiment": "e", "round": 1, "attempt": 1,
			"data": map[string]any{"partition": map[string]any{"num_clients": 2}}}, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		act, err := e.client.Call(ctx, "fl_client", req)
		if err != nil {
			t.Fatal(err)
		}
		if act.Success || !strings.Contains(string(act.Result), tc.want) {
			t.Errorf("signed with %q: %s, want %q", tc.signedWith, act.Result, tc.want)
		}
	}
}
