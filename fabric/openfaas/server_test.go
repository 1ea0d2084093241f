package openfaas_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/faas"
	ofclient "github.com/fedkeeper/fedkeeper/faas/openfaas"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/openfaas"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

var buildDir string

// handler builds functions/openfaas once for all tests.
var handler = sync.OnceValues(func() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return pack.BuildGo(context.Background(), filepath.Join(root, "functions", "openfaas"), buildDir)
})

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openfaas-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type env struct {
	url    string
	client *ofclient.Client
	image  string
}

func start(t *testing.T) *env {
	t.Helper()
	return startWith(t, faults.Faults{})
}

func startWith(t *testing.T, injected faults.Faults) *env {
	t.Helper()
	f, err := fabric.Start(context.Background(), fabric.Options{DataDir: t.TempDir(), Faults: faults.New(injected),
		OpenFaaS: &openfaas.Options{Password: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	c, err := ofclient.New(ofclient.Options{Gateway: f.URL, User: "admin", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := handler()
	if err != nil {
		t.Fatal(err)
	}
	return &env{url: f.URL, client: c, image: "file://" + bin}
}

type nodeInfo struct {
	PID      int               `json:"pid"`
	Platform map[string]string `json:"platform"`
	Echo     map[string]any    `json:"echo"`
}

func TestDeployCallAndRemove(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if err := e.client.Deploy(ctx, faas.Function{Name: "nodeinfo", Image: e.image, MemoryMB: 128}); err != nil {
		t.Fatal(err)
	}
	status, err := e.client.Get(ctx, "nodeinfo")
	if err != nil || status["image"] != e.image || status["namespace"] != openfaas.Namespace {
		t.Fatalf("status %v %v", status, err)
	}
	first, err := e.client.Call(ctx, "nodeinfo", map[string]string{"from": "edge"})
	if err != nil || !first.Success || !first.ColdStart || first.ID == "" {
		t.Fatalf("first call %+v %v", first, err)
	}
	var info nodeInfo
	json.Unmarshal(first.Result, &info)
	if info.Platform["OPENFAAS_FUNCTION"] != "nodeinfo" || info.Echo["from"] != "edge" {
		t.Errorf("the function saw %+v", info)
	}
	second, err := e.client.Call(ctx, "nodeinfo", nil)
	var again nodeInfo
	json.Unmarshal(second.Result, &again)
	if err != nil || second.ColdStart || again.PID != info.PID {
		t.Errorf("warm replica not reused: %+v pid %d then %d", second, info.PID, again.PID)
	}
	// Deploying again updates in place (PUT) with new replicas.
	if err := e.client.Deploy(ctx, faas.Function{Name: "nodeinfo", Image: e.image}); err != nil {
		t.Fatal(err)
	}
	third, _ := e.client.Call(ctx, "nodeinfo", nil)
	if !third.ColdStart {
		t.Error("the update kept the old replica")
	}
	if status, _ := e.client.Get(ctx, "nodeinfo"); status["invocationCount"].(float64) != 3 {
		t.Errorf("invocation count %v", status["invocationCount"])
	}
	if err := e.client.Remove(ctx, "nodeinfo"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Call(ctx, "nodeinfo", nil); !errors.Is(err, faas.ErrFunctionMissing) {
		t.Errorf("call after remove: %v", err)
	}
	if err := e.client.Remove(ctx, "nodeinfo"); err != nil {
		t.Errorf("remove of a missing function: %v", err)
	}
}

// A hung function is stopped at its own time limit, the watchdog's exec_timeout
// the client sets from the function's timeout, not at the gateway's five minutes.
func TestHungFunctionStopsAtItsTimeout(t *testing.T) {
	e := startWith(t, faults.Faults{HangRate: 1})
	ctx := context.Background()
	if err := e.client.Deploy(ctx, faas.Function{Name: "nodeinfo", Image: e.image, Timeout: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	status, err := e.client.Get(ctx, "nodeinfo")
	if err != nil {
		t.Fatal(err)
	}
	if env, _ := status["envVars"].(map[string]any); env["exec_timeout"] != "300ms" || env["write_timeout"] != "300ms" {
		t.Errorf("deployed env %v", status["envVars"])
	}
	callCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	act, err := e.client.Call(callCtx, "nodeinfo", nil)
	if err != nil || act.Success || !act.TimedOut || act.Status != "timeout" {
		t.Fatalf("hung call: %+v %v", act, err)
	}
	if !strings.Contains(string(act.Result), "300ms") {
		t.Errorf("timeout answer %s", act.Result)
	}
}

func TestAsyncInvocationCallsBack(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if err := e.client.Deploy(ctx, faas.Function{Name: "nodeinfo", Image: e.image}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *http.Request, 1)
	bodies := make(chan faas.Activation, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		act, err := ofclient.Callback(r)
		if err != nil {
			t.Error(err)
		}
		got <- r
		bodies <- act
	}))
	defer receiver.Close()
	id, err := e.client.InvokeAsync(ctx, "nodeinfo", map[string]string{"async": "yes"}, receiver.URL+"/done")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		act := <-bodies
		if r.Header.Get("X-Call-Id") != id || r.Header.Get("X-Function-Name") != "nodeinfo" || r.Header.Get("X-Function-Status") != "200" || !act.Success {
			t.Errorf("callback headers %v, activation %+v", r.Header, act)
		}
		var info nodeInfo
		json.Unmarshal(act.Result, &info)
		if info.Echo["async"] != "yes" {
			t.Errorf("callback body %s", act.Result)
		}
	case <-time.After(time.Minute):
		t.Fatal("no callback")
	}
}

func TestGatewayRefusals(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if err := e.client.Deploy(ctx, faas.Function{Name: "f", Image: "ghcr.io/example/fn:latest"}); !errors.Is(err, faas.ErrRejected) ||
		!strings.Contains(err.Error(), "cannot be pulled") {
		t.Errorf("registry image: %v", err)
	}
	if err := e.client.Deploy(ctx, faas.Function{Name: "nodeinfo", Image: e.image}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.InvokeAsync(ctx, "nodeinfo", nil, "::not a url"); !errors.Is(err, faas.ErrRejected) {
		t.Errorf("bad callback URL: %v", err)
	}
	if _, err := e.client.InvokeAsync(ctx, "ghost", nil, ""); !errors.Is(err, faas.ErrFunctionMissing) {
		t.Errorf("async call of a missing function: %v", err)
	}
	wrong, _ := ofclient.New(ofclient.Options{Gateway: e.url, User: "admin", Password: "nope"})
	for _, c := range []*ofclient.Client{wrong} {
		if _, err := c.Call(ctx, "nodeinfo", nil); !errors.Is(err, faas.ErrRejected) {
			t.Errorf("call with the wrong password: %v", err)
		}
		if err := c.Deploy(ctx, faas.Function{Name: "x", Image: e.image}); !errors.Is(err, faas.ErrRejected) {
			t.Errorf("deploy with the wrong password: %v", err)
		}
	}
	for _, path := range []string{"/system/functions", "/function/nodeinfo"} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d", path, resp.StatusCode)
		}
	}
}

// A function deployed with gateway secrets reads them as files; the gateway lists the
// secrets and the function by name only, and a deployment naming a missing secret is
// refused.
func TestSecretsReachTheFunctionAsFiles(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	const key = "a-key-only-the-function-reads"
	fn := faas.Function{Name: "fl_client", Image: e.image, Timeout: time.Minute,
		Secrets: map[deployment.Setting]string{deployment.TokenKey: key}}
	for range 2 { // the second deploy replaces the secret's value in place
		if err := e.client.Deploy(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/system/functions", "/system/secrets"} {
		req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
		req.SetBasicAuth("admin", "secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body []map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		data, _ := json.Marshal(body)
		if resp.StatusCode != 200 || strings.Contains(string(data), key) || !strings.Contains(string(data), "fedkeeper-token-key") {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, data)
		}
	}
	for _, tc := range []struct{ signedWith, want string }{{key, "store db and collection are required"}, {"a guessed key", "invalid token"}} {
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
	body := `{"service":"other","image":"` + e.image + `","secrets":["no-such-secret"]}`
	req, _ := http.NewRequest(http.MethodPost, e.url+"/system/functions", strings.NewReader(body))
	req.SetBasicAuth("admin", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a deployment naming a missing secret: HTTP %d", resp.StatusCode)
	}
}
