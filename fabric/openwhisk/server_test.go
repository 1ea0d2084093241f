package openwhisk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/functions/actionloop"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

// TestMain doubles as the test functions: the fabric starts this very binary as an
// action's "exec", and the action name (in __OW_ACTION_NAME) picks the behaviour.
func TestMain(m *testing.M) {
	if name := os.Getenv("__OW_ACTION_NAME"); name != "" {
		if err := actionloop.Serve(actionloop.Web(testFunction(path.Base(name)))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testFunction(name string) actionloop.Handler {
	calls := 0
	return func(ctx context.Context, params json.RawMessage) (any, error) {
		calls++
		var p map[string]any
		_ = json.Unmarshal(params, &p)
		switch name {
		case "echo":
			fmt.Println("echoing", len(params), "bytes")
			return p, nil
		case "fail":
			return nil, errors.New("boom")
		case "sleep":
			ms, _ := p["ms"].(float64)
			time.Sleep(time.Duration(ms) * time.Millisecond)
			return map[string]any{"slept": ms}, nil
		case "crash":
			os.Exit(3)
		case "text":
			return "not a dictionary", nil
		case "count":
			return map[string]any{"pid": os.Getpid(), "calls": calls}, nil
		case "big":
			return map[string]any{"blob": strings.Repeat("y", 3<<19)}, nil
		case "env":
			v, _ := p["var"].(string)
			return map[string]any{"value": os.Getenv(v), "params": p}, nil
		}
		return nil, fmt.Errorf("unknown test function %s", name)
	}
}

type env struct {
	t      *testing.T
	url    string
	auth   string
	client *owclient.Client
	code   string
}

func start(t *testing.T, opts openwhisk.Options) *env {
	t.Helper()
	if opts.Auth == "" {
		opts.Auth = openwhisk.GuestAuth
	}
	f, err := fabric.Start(context.Background(), fabric.Options{DataDir: t.TempDir(), OpenWhisk: &opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := pack.ZipExecutable("exec", self)
	if err != nil {
		t.Fatal(err)
	}
	auth := opts.Auth
	c, err := owclient.New(owclient.Options{APIHost: f.URL, Namespace: "guest", Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, url: f.URL, auth: auth, client: c, code: base64.StdEncoding.EncodeToString(zipped)}
}

// call sends a raw request and returns the status and decoded JSON body.
func (e *env) call(method, p string, body any, auth string) (int, http.Header, map[string]any, []byte) {
	e.t.Helper()
	var reader io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.url+p, reader)
	if auth != "" {
		user, pass, _ := strings.Cut(auth, ":")
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m, raw
}

func (e *env) deploy(name string, limits map[string]any) {
	e.t.Helper()
	body := map[string]any{"exec": map[string]any{"kind": "go:1.22", "code": e.code, "binary": true}}
	if limits != nil {
		body["limits"] = limits
	}
	status, _, m, _ := e.call("PUT", "/api/v1/namespaces/guest/actions/"+name+"?overwrite=true", body, e.auth)
	if status != 200 {
		e.t.Fatalf("deploy %s: %d %v", name, status, m)
	}
}

func TestAuthAndNamespaces(t *testing.T) {
	e := start(t, openwhisk.Options{})
	tests := []struct {
		name   string
		method string
		path   string
		auth   string
		want   int
	}{
		{"no credentials", "GET", "/api/v1/namespaces", "", 401},
		{"wrong key", "GET", "/api/v1/namespaces/guest/actions", "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong", 401},
		{"own namespace", "GET", "/api/v1/namespaces/guest/actions", e.auth, 200},
		{"underscore is own namespace", "GET", "/api/v1/namespaces/_/actions", e.auth, 200},
		{"other namespace", "GET", "/api/v1/namespaces/other/actions", e.auth, 403},
		{"missing action", "GET", "/api/v1/namespaces/guest/actions/nope", e.auth, 404},
		{"missing activation", "GET", "/api/v1/namespaces/guest/activations/0123456789abcdef0123456789abcdef", e.auth, 404},
		{"limits", "GET", "/api/v1/namespaces/guest/limits", e.auth, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, m, _ := e.call(tc.method, tc.path, nil, tc.auth)
			if status != tc.want {
				t.Fatalf("status %d, want %d (%v)", status, tc.want, m)
			}
			if status >= 400 && (m["error"] == "" || m["code"] == "") {
				t.Errorf("error body %v lacks error and code", m)
			}
		})
	}
	_, _, _, raw := e.call("GET", "/api/v1/namespaces", nil, e.auth)
	if strings.TrimSpace(string(raw)) != `["guest"]` {
		t.Errorf("namespaces: %s", raw)
	}
}

func TestActionLifecycle(t *testing.T) {
	e := start(t, openwhisk.Options{})
	base := "/api/v1/namespaces/guest/actions/echo"
	put := map[string]any{"exec": map[string]any{"kind": "go:1.22", "code": e.code}, "limits": map[string]any{"memory": 512, "timeout": 30000},
		"parameters": []map[string]any{{"key": "greeting", "value": "hi"}}}
	status, _, m, _ := e.call("PUT", base, put, e.auth)
	if status != 200 || m["version"] != "0.0.1" || m["name"] != "echo" {
		t.Fatalf("create: %d %v", status, m)
	}
	if status, _, _, _ := e.call("PUT", base, put, e.auth); status != 409 {
		t.Fatalf("create over existing without overwrite: %d, want 409", status)
	}
	// An update without exec keeps the code and bumps the version.
	status, _, m, _ = e.call("PUT", base+"?overwrite=true", map[string]any{"limits": map[string]any{"timeout": 20000}}, e.auth)
	if status != 200 || m["version"] != "0.0.2" {
		t.Fatalf("update: %d %v", status, m)
	}
	lim := m["limits"].(map[string]any)
	if lim["timeout"].(float64) != 20000 || lim["memory"].(float64) != 512 {
		t.Errorf("merged limits %v", lim)
	}
	status, _, m, _ = e.call("GET", base+"?code=false", nil, e.auth)
	if status != 200 || m["exec"].(map[string]any)["code"] != nil {
		t.Fatalf("get without code: %d %v", status, m)
	}
	// Default parameters reach the function under the invocation's own.
	status, hdr, m, _ := e.call("POST", base+"?blocking=true&result=true", map[string]any{"x": 1}, e.auth)
	if status != 200 || m["greeting"] != "hi" || m["x"].(float64) != 1 || hdr.Get("x-openwhisk-activation-id") == "" {
		t.Fatalf("invoke: %d %v %v", status, m, hdr)
	}
	bad := []struct {
		name string
		body map[string]any
	}{
		{"unknown kind", map[string]any{"exec": map[string]any{"kind": "nodejs:20", "code": "function main() {}"}}},
		{"a docker action", map[string]any{"exec": map[string]any{"kind": "blackbox", "image": "kkyfury/tensorflow"}}},
		{"not a zip", map[string]any{"exec": map[string]any{"kind": "go:1.22", "code": base64.StdEncoding.EncodeToString([]byte("hello"))}}},
		{"timeout above the limit", map[string]any{"exec": map[string]any{"kind": "go:1.22", "code": e.code}, "limits": map[string]any{"timeout": 900000}}},
		{"no exec", map[string]any{}},
	}
	for _, tc := range bad {
		if status, _, m, _ := e.call("PUT", "/api/v1/namespaces/guest/actions/bad", tc.body, e.auth); status != 400 {
			t.Errorf("%s: %d %v, want 400", tc.name, status, m)
		}
	}
	if status, _, _, _ := e.call("DELETE", base, nil, e.auth); status != 200 {
		t.Fatalf("delete: %d", status)
	}
	if status, _, _, _ := e.call("DELETE", base, nil, e.auth); status != 404 {
		t.Fatalf("second delete: %d", status)
	}
	if status, _, _, _ := e.call("POST", base, nil, e.auth); status != 404 {
		t.Fatalf("invoke after delete: %d", status)
	}
}

func TestInvocationOutcomes(t *testing.T) {
	e := start(t, openwhisk.Options{})
	for _, name := range []string{"echo", "fail", "text", "crash"} {
		e.deploy(name, nil)
	}
	e.deploy("sleep", map[string]any{"timeout": 500})
	tests := []struct {
		action     string
		params     map[string]any
		wantHTTP   int
		wantStatus string
		timeout    bool
	}{
		{"echo", map[string]any{"a": "b"}, 200, "success", false},
		{"fail", nil, 502, "application error", false},
		{"text", nil, 502, "action developer error", false},
		{"crash", nil, 502, "action developer error", false},
		{"sleep", map[string]any{"ms": 5000}, 502, "action developer error", true},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			status, hdr, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/"+tc.action+"?blocking=true", tc.params, e.auth)
			if status != tc.wantHTTP {
				t.Fatalf("HTTP %d, want %d: %v", status, tc.wantHTTP, m)
			}
			resp := m["response"].(map[string]any)
			if resp["status"] != tc.wantStatus || resp["success"] != (tc.wantStatus == "success") {
				t.Fatalf("response %v", resp)
			}
			if _, ok := resp["statusCode"]; ok {
				t.Error("extended record must not carry response.statusCode")
			}
			if len(m["activationId"].(string)) != 32 || hdr.Get("x-openwhisk-activation-id") != m["activationId"] {
				t.Errorf("activation id %v header %q", m["activationId"], hdr.Get("x-openwhisk-activation-id"))
			}
			anns := map[string]any{}
			for _, a := range m["annotations"].([]any) {
				kv := a.(map[string]any)
				anns[kv["key"].(string)] = kv["value"]
			}
			for _, key := range []string{"path", "kind", "limits", "waitTime"} {
				if _, ok := anns[key]; !ok {
					t.Errorf("annotation %s missing: %v", key, anns)
				}
			}
			if (anns["timeout"] == true) != tc.timeout {
				t.Errorf("timeout annotation %v", anns["timeout"])
			}
			if tc.timeout && !strings.Contains(fmt.Sprint(resp["result"]), "exceeded its time limits of 500 milliseconds") {
				t.Errorf("timeout result %v", resp["result"])
			}
			// The stored record matches, and /result and /logs answer.
			id := m["activationId"].(string)
			status, _, rec, _ := e.call("GET", "/api/v1/namespaces/guest/activations/"+id, nil, e.auth)
			if status != 200 || rec["response"].(map[string]any)["status"] != tc.wantStatus {
				t.Fatalf("stored record %d %v", status, rec)
			}
			if status, _, res, _ := e.call("GET", "/api/v1/namespaces/guest/activations/"+id+"/result", nil, e.auth); status != 200 || res["status"] != tc.wantStatus {
				t.Errorf("result endpoint %d %v", status, res)
			}
			if status, _, logs, _ := e.call("GET", "/api/v1/namespaces/guest/activations/"+id+"/logs", nil, e.auth); status != 200 || logs["logs"] == nil {
				t.Errorf("logs endpoint %d %v", status, logs)
			}
		})
	}
	// The list filters by name and counts.
	status, _, m, _ := e.call("GET", "/api/v1/namespaces/guest/activations?count=true&name=echo", nil, e.auth)
	if status != 200 || m["activations"].(float64) != 1 {
		t.Errorf("count: %d %v", status, m)
	}
	if status, _, _, _ := e.call("GET", "/api/v1/namespaces/guest/activations?count=true&docs=true", nil, e.auth); status != 400 {
		t.Errorf("count with docs: %d, want 400", status)
	}
}

func TestBlockingWaitFallsBackTo202(t *testing.T) {
	e := start(t, openwhisk.Options{})
	e.deploy("sleep", nil)
	status, hdr, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/sleep?blocking=true&timeout=100", map[string]any{"ms": 1500}, e.auth)
	if status != 202 || m["activationId"] == nil || hdr.Get("x-openwhisk-activation-id") != m["activationId"] {
		t.Fatalf("blocking past its wait: %d %v", status, m)
	}
	if status, _, _, _ := e.call("POST", "/api/v1/namespaces/guest/actions/sleep?blocking=true&timeout=70000", nil, e.auth); status != 400 {
		t.Fatalf("timeout above 60 s: %d, want 400", status)
	}
	// The record appears once the function finishes; the client polls through 404s.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := pollRecord(ctx, t, e.client, m["activationId"].(string))
	if !rec.Response.Success {
		t.Fatalf("record %+v", rec)
	}
}

func pollRecord(ctx context.Context, t *testing.T, c *owclient.Client, id string) owclient.Record {
	t.Helper()
	for {
		rec, err := c.GetActivation(ctx, id)
		if err == nil {
			return rec
		}
		select {
		case <-ctx.Done():
			t.Fatalf("activation %s never finished: %v", id, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestWarmContainersAreReusedAndColdStartsRecorded(t *testing.T) {
	e := start(t, openwhisk.Options{MaxContainers: 2})
	e.deploy("count", nil)
	ctx := context.Background()
	var first, second owclient.Record
	for i, rec := range []*owclient.Record{&first, &second} {
		inv, err := e.client.InvokeAction(ctx, "count", nil, true)
		if err != nil || inv.Record == nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		*rec = *inv.Record
	}
	_, firstCold := first.Annotation("initTime")
	_, secondCold := second.Annotation("initTime")
	if !firstCold || secondCold {
		t.Fatalf("cold starts: first %v second %v", firstCold, secondCold)
	}
	var r1, r2 map[string]float64
	_ = json.Unmarshal(first.Response.Result, &r1)
	_ = json.Unmarshal(second.Response.Result, &r2)
	if r1["pid"] != r2["pid"] || r2["calls"] != 2 {
		t.Fatalf("warm container not reused: %v then %v", r1, r2)
	}

	// More concurrent activations than containers queue up and all finish.
	var wg sync.WaitGroup
	pids := make(chan float64, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, err := e.client.InvokeAction(ctx, "count", nil, true)
			if err != nil || inv.Record == nil || !inv.Record.Response.Success {
				t.Errorf("concurrent invoke: %v", err)
				return
			}
			var r map[string]float64
			_ = json.Unmarshal(inv.Record.Response.Result, &r)
			pids <- r["pid"]
		}()
	}
	wg.Wait()
	close(pids)
	distinct := map[float64]bool{}
	for p := range pids {
		distinct[p] = true
	}
	if len(distinct) > 2 {
		t.Errorf("%d processes ran, the limit is 2", len(distinct))
	}
}

func TestThrottling(t *testing.T) {
	e := start(t, openwhisk.Options{InvocationsPerMinute: 2})
	e.deploy("echo", nil)
	for i := 0; i < 2; i++ {
		if status, _, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/echo", nil, e.auth); status != 202 {
			t.Fatalf("invoke %d: %d %v", i, status, m)
		}
	}
	status, _, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/echo", nil, e.auth)
	if status != 429 || !strings.Contains(m["error"].(string), "Too many requests in the last minute") {
		t.Fatalf("third invoke: %d %v", status, m)
	}
}

func TestUpdateKeepsAcceptedActivationsRunning(t *testing.T) {
	e := start(t, openwhisk.Options{MaxContainers: 1})
	e.deploy("sleep", nil)
	ctx := context.Background()
	// The first runs, the second waits for the only container; then the action changes.
	var ids []string
	for i := 0; i < 2; i++ {
		id, err := e.client.Invoke(ctx, "sleep", map[string]any{"ms": 300})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	e.deploy("sleep", nil)
	for _, id := range ids {
		pollCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rec := pollRecord(pollCtx, t, e.client, id)
		cancel()
		if !rec.Response.Success {
			t.Errorf("activation %s accepted before the update failed: %s", id, rec.Response.Result)
		}
	}
	inv, err := e.client.InvokeAction(ctx, "sleep", map[string]any{"ms": 1}, true)
	if err != nil || inv.Record == nil || !inv.Record.Response.Success {
		t.Fatalf("invoke of the new version: %v", err)
	}
}

func TestWebActions(t *testing.T) {
	e := start(t, openwhisk.Options{})
	put := func(name string, annotations []map[string]any) {
		body := map[string]any{"exec": map[string]any{"kind": "go:1.22", "code": e.code}, "annotations": annotations}
		if status, _, m, _ := e.call("PUT", "/api/v1/namespaces/guest/actions/"+name+"?overwrite=true", body, e.auth); status != 200 {
			t.Fatalf("deploy %s: %d %v", name, status, m)
		}
	}
	put("echo", []map[string]any{{"key": "web-export", "value": true}, {"key": "raw-http", "value": true},
		{"key": "require-whisk-auth", "value": "s3cret"}})
	put("count", nil) // not exported

	webCall := func(path string, header map[string]string, auth string) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(`{"hello":"web"}`))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		if auth != "" {
			user, pass, _ := strings.Cut(auth, ":")
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, resp.Header, m
	}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		auth   string
		want   int
	}{
		{"with the namespace key", "/api/v1/web/guest/default/echo", nil, e.auth, 200},
		{"with the action's secret", "/api/v1/web/guest/default/echo", map[string]string{"X-Require-Whisk-Auth": "s3cret"}, "", 200},
		{"without credentials", "/api/v1/web/guest/default/echo", nil, "", 401},
		{"with a wrong secret", "/api/v1/web/guest/default/echo", map[string]string{"X-Require-Whisk-Auth": "guess"}, "", 401},
		{"not exported", "/api/v1/web/guest/default/count", nil, e.auth, 404},
		{"other namespace", "/api/v1/web/other/default/echo", nil, e.auth, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, m := webCall(tc.path, tc.header, tc.auth)
			if status != tc.want {
				t.Fatalf("HTTP %d, want %d (%v)", status, tc.want, m)
			}
			if status == 200 {
				// The raw body reached the function and its result came back as the body.
				if m["hello"] != "web" || hdr.Get("x-openwhisk-activation-id") == "" || hdr.Get("Content-Type") != "application/json" {
					t.Errorf("answer %v %v", m, hdr)
				}
			}
		})
	}
	// .json answers with the whole result object.
	status, _, m := webCall("/api/v1/web/guest/default/echo.json", nil, e.auth)
	if status != 200 || m["statusCode"].(float64) != 200 {
		t.Errorf(".json: %d %v", status, m)
	}
}

func TestInjectedFaults(t *testing.T) {
	inj := faults.New(faults.Faults{})
	e := start(t, openwhisk.Options{Faults: inj})
	e.deploy("echo", map[string]any{"timeout": 300})
	invoke := func() (int, map[string]any) {
		status, _, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/echo?blocking=true", map[string]any{"x": 1}, e.auth)
		return status, m
	}
	tests := []struct {
		fault      faults.Faults
		wantHTTP   int
		wantStatus string
	}{
		{faults.Faults{ThrottleRate: 1}, 429, ""},
		{faults.Faults{ServerErrorRate: 1}, 503, ""},
		{faults.Faults{CrashRate: 1}, 502, "action developer error"},
		{faults.Faults{HangRate: 1}, 502, "action developer error"},
		{faults.Faults{ErrorRate: 1}, 502, "application error"},
		{faults.Faults{}, 200, "success"},
		{faults.Faults{DeleteRate: 1}, 404, ""},
	}
	for _, tc := range tests {
		inj.Set(tc.fault)
		status, m := invoke()
		if status != tc.wantHTTP {
			t.Errorf("%+v: HTTP %d, want %d (%v)", tc.fault, status, tc.wantHTTP, m)
			continue
		}
		if tc.wantStatus != "" && m["response"].(map[string]any)["status"] != tc.wantStatus {
			t.Errorf("%+v: status %v, want %s", tc.fault, m["response"], tc.wantStatus)
		}
	}
	// The deletion was real: the action is gone until deployed again.
	inj.Set(faults.Faults{ColdStartDelay: "400ms"})
	if status, _, _, _ := e.call("GET", "/api/v1/namespaces/guest/actions/echo", nil, e.auth); status != 404 {
		t.Errorf("action after an injected deletion: %d", status)
	}
	e.deploy("echo", nil)
	inv, err := e.client.InvokeAction(context.Background(), "echo", nil, true)
	if err != nil || inv.Record == nil {
		t.Fatal(err)
	}
	if ms, ok := inv.Record.Annotation("initTime"); !ok || ms.(float64) < 400 {
		t.Errorf("cold start with a 400ms injected delay took %v ms", ms)
	}
	// A slow device: every activation, warm ones too, runs at least the delay.
	inj.Set(faults.Faults{Delay: "300ms"})
	inv, err = e.client.InvokeAction(context.Background(), "echo", nil, true)
	if err != nil || inv.Record == nil {
		t.Fatal(err)
	}
	if d := inv.Record.End - inv.Record.Start; inv.Record.Response.Status != "success" || d < 300 {
		t.Errorf("a warm activation with a 300ms delay: %s in %d ms", inv.Record.Response.Status, d)
	}
	counts := inj.Counts()
	if counts[faults.Crash] != 1 || counts[faults.Delete] != 1 || counts[faults.ColdDelay] != 1 || counts[faults.Slow] != 1 {
		t.Errorf("injected %v", counts)
	}
	// Deployed once, and again after the deletion.
	if n := inj.Deployments()["echo"]; n != 2 {
		t.Errorf("echo deployed %d times, want 2", n)
	}
}

func TestOversizedPayloadsAreRefused(t *testing.T) {
	e := start(t, openwhisk.Options{})
	e.deploy("echo", nil)
	big := map[string]string{"blob": strings.Repeat("x", 1<<20)}
	status, _, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/echo?blocking=true", big, e.auth)
	if status != 413 || !strings.Contains(m["error"].(string), "too large") {
		t.Fatalf("a 1 MB parameter object: %d %v", status, m)
	}
	// A result over 1 MB is refused and reported as the action's error.
	e.deploy("big", nil)
	status, _, m, _ = e.call("POST", "/api/v1/namespaces/guest/actions/big?blocking=true", nil, e.auth)
	resp, _ := m["response"].(map[string]any)
	if status != 502 || resp["status"] != "application error" || !strings.Contains(fmt.Sprint(resp["result"]), "exceeded the allowable length") {
		t.Fatalf("a 1.5 MB result: %d %v", status, resp)
	}
}

// Parameters marked init reach the container as environment variables and never an
// activation's parameters; under the final annotation a request may not set a bound
// parameter, as OpenWhisk refuses it; without it, a request overrides the defaults.
func TestInitParametersAndFinal(t *testing.T) {
	e := start(t, openwhisk.Options{})
	params := []map[string]any{{"key": "SECRET", "value": "s3", "init": true}, {"key": "plain", "value": 1}}
	for _, final := range []bool{true, false} {
		t.Run(fmt.Sprintf("final %v", final), func(t *testing.T) {
			put := map[string]any{"exec": map[string]any{"kind": "go:1.22", "code": e.code}, "parameters": params,
				"annotations": []map[string]any{{"key": "final", "value": final}}}
			if status, _, m, _ := e.call("PUT", "/api/v1/namespaces/guest/actions/env?overwrite=true", put, e.auth); status != 200 {
				t.Fatalf("deploy: %d %v", status, m)
			}
			status, _, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/env?blocking=true&result=true", map[string]any{"var": "SECRET"}, e.auth)
			got, _ := m["params"].(map[string]any)
			if status != 200 || m["value"] != "s3" || got["plain"] != 1.0 {
				t.Fatalf("the function saw %d %v", status, m)
			}
			if _, ok := got["SECRET"]; ok {
				t.Errorf("an init parameter reached the activation's parameters: %v", got)
			}
			for _, override := range []map[string]any{{"SECRET": "mine", "var": "SECRET"}, {"plain": 2}} {
				status, _, m, _ := e.call("POST", "/api/v1/namespaces/guest/actions/env?blocking=true&result=true", override, e.auth)
				switch {
				case final && (status != 400 || !strings.Contains(fmt.Sprint(m["error"]), "not allowed")):
					t.Errorf("override %v of a final action: %d %v", override, status, m)
				case !final && status != 200:
					t.Errorf("override %v: %d %v", override, status, m)
				case !final && override["SECRET"] != nil && m["value"] != "s3":
					t.Errorf("a request changed the container's environment: %v", m)
				}
			}
		})
	}
}
