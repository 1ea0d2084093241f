package openfaas_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// pyHandler answers each path its own way, to show how a return value becomes the
// answer under the python3-http template.
const pyHandler = `import os

calls = 0


def handle(event, context):
    global calls
    calls += 1
    kind = event.path.strip("/")
    if kind == "none":
        return None
    if kind == "dict-body":
        return {"statusCode": 201, "body": {"a": 1}, "headers": {"X-Fn": "yes"}}
    if kind == "str-body":
        return {"body": "text"}
    if kind == "list-body":
        return {"body": ["a", 1]}
    if kind == "status-only":
        return {"statusCode": 202}
    if kind == "no-keys":
        return {"a": 1}
    if kind == "header-list":
        return {"body": "listed", "headers": [("X-L", "1")]}
    if kind == "string":
        return "hello"
    if kind == "raise":
        raise RuntimeError("kaboom")
    if kind == "echo":
        return {"body": {"body": event.body.decode(), "bytes": isinstance(event.body, bytes), "method": event.method,
                         "query": event.query.to_dict(), "path": event.path, "header": event.headers.get("X-Test"),
                         "hostname": context.hostname}}
    print("serving call", calls)
    return {"body": {"pid": os.getpid(), "calls": calls}}
`

// handlerFolder writes a python3-http function folder: files by name under root.
func handlerFolder(t *testing.T, files map[string]string) string {
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
	return "file://" + dir + "/"
}

func requirePython(t *testing.T) {
	t.Helper()
	if err := python.Require(context.Background(), python.DefaultInterpreter, "flask"); err != nil {
		t.Fatal(err)
	}
}

func gatewayCall(t *testing.T, e *env, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.SetBasicAuth("admin", "secret")
	req.Header.Set("X-Test", "t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// A python3-http handler's return value becomes the answer as the template's index.py
// makes it, and the event carries what the template's does.
func TestPythonHandlerAnswers(t *testing.T) {
	requirePython(t)
	e := start(t)
	// faas-cli build's layout: the handler in function/.
	image := handlerFolder(t, map[string]string{"function/handler.py": pyHandler, "function/requirements.txt": "flask\n"})
	if err := e.client.Deploy(context.Background(), faas.Function{Name: "py", Image: image}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantType, wantBody       string
		wantHeader               [2]string
	}{
		{"None is an empty 200", "GET", "/none", "", 200, "text/html; charset=utf-8", "", [2]string{}},
		{"a dict body is JSON, with its status and headers", "POST", "/dict-body", "", 201, "application/json", `{"a":1}`, [2]string{"X-Fn", "yes"}},
		{"a str body", "GET", "/str-body", "", 200, "text/html; charset=utf-8", "text", [2]string{}},
		{"a list body is its str(), not JSON", "GET", "/list-body", "", 200, "text/html; charset=utf-8", "['a', 1]", [2]string{}},
		{"a status without a body", "PUT", "/status-only", "", 202, "text/html; charset=utf-8", "", [2]string{}},
		{"a dict without the keys is an empty 200", "GET", "/no-keys", "", 200, "text/html; charset=utf-8", "", [2]string{}},
		{"headers as a list", "GET", "/header-list", "", 200, "text/html; charset=utf-8", "listed", [2]string{"X-L", "1"}},
		{"anything else goes to Flask", "GET", "/string", "", 200, "text/html; charset=utf-8", "hello", [2]string{}},
		{"an exception is Flask's 500", "DELETE", "/raise", "", 500, "text/html; charset=utf-8", "Internal Server Error", [2]string{}},
		{"the event", "PATCH", "/echo?q=1", "raw body", 200, "application/json",
			`{"body":"raw body","bytes":true,"header":"t","hostname":"py","method":"PATCH","path":"/echo","query":{"q":"1"}}`, [2]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := gatewayCall(t, e, tc.method, "/function/py"+tc.path, tc.body)
			if tc.wantType == "application/json" {
				var v any
				if err := json.Unmarshal([]byte(body), &v); err == nil {
					compact, _ := json.Marshal(v)
					body = string(compact)
				}
			}
			if status != tc.wantStatus || header.Get("Content-Type") != tc.wantType || !strings.Contains(body, tc.wantBody) ||
				(tc.wantBody == "" && body != "") {
				t.Errorf("%d %q %q, want %d %q %q", status, header.Get("Content-Type"), body, tc.wantStatus, tc.wantType, tc.wantBody)
			}
			if k := tc.wantHeader[0]; k != "" && header.Get(k) != tc.wantHeader[1] {
				t.Errorf("header %s %q, want %q", k, header.Get(k), tc.wantHeader[1])
			}
		})
	}
}

// A replica serves call after call in one process, an exception does not end it, and
// a handler folder itself (handler.py at its root) is an image too.
func TestPythonHandlerReplica(t *testing.T) {
	requirePython(t)
	e := start(t)
	ctx := context.Background()
	if err := e.client.Deploy(ctx, faas.Function{Name: "py", Image: handlerFolder(t, map[string]string{"handler.py": pyHandler})}); err != nil {
		t.Fatal(err)
	}
	type seen struct{ PID, Calls int }
	var runs []seen
	var acts []faas.Activation
	for i := range 2 {
		act, err := e.client.Call(ctx, "py", map[string]int{"i": i})
		if err != nil || !act.Success {
			t.Fatalf("call %d: %+v %v", i, act, err)
		}
		var s seen
		if err := json.Unmarshal(act.Result, &s); err != nil {
			t.Fatal(err)
		}
		runs, acts = append(runs, s), append(acts, act)
		if i == 0 {
			if status, _, _ := gatewayCall(t, e, "GET", "/function/py/raise", ""); status != 500 {
				t.Fatalf("the exception answered %d", status)
			}
		}
	}
	if runs[0].PID != runs[1].PID || runs[1].Calls != 3 || !acts[0].ColdStart || acts[1].ColdStart {
		t.Errorf("not one warm replica: %+v, cold %v then %v", runs, acts[0].ColdStart, acts[1].ColdStart)
	}
}

// What building the image would refuse, the gateway refuses; what fails only once the
// replica runs fails there, as on OpenFaaS.
func TestPythonHandlerFailures(t *testing.T) {
	requirePython(t)
	e := start(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		files      map[string]string
		wantDeploy string // in the refusal; "" when the deploy succeeds
		wantStatus int    // of a call then
		wantBody   string
	}{
		{"no handler.py", map[string]string{"function/main.py": pyHandler}, "has no function/handler.py", 0, ""},
		{"a missing requirement", map[string]string{"function/handler.py": pyHandler, "function/requirements.txt": "numpy-not-here\n"},
			"requirements.txt asks for numpy-not-here, which /usr/bin/python3 cannot import", 0, ""},
		{"no handle function: every call fails", map[string]string{"function/handler.py": "def other(event, context):\n    return None\n"},
			"", 500, "Internal Server Error"},
		{"a handler that cannot be imported: no replica starts", map[string]string{"function/handler.py": "def handle(event, context):\n    return (\n"},
			"", 502, "Can't reach service for: broken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.client.Deploy(ctx, faas.Function{Name: "broken", Image: handlerFolder(t, tc.files)})
			if tc.wantDeploy != "" {
				if err == nil || !errors.Is(err, faas.ErrRejected) || !strings.Contains(err.Error(), tc.wantDeploy) {
					t.Fatalf("deploy: %v, want a refusal with %q", err, tc.wantDeploy)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if status, _, body := gatewayCall(t, e, "POST", "/function/broken", "{}"); status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Errorf("call: %d %q, want %d %q", status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}
