package gcf_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// pyMain answers each path its own way, to show how a return value becomes the answer.
const pyMain = `import os

import flask
import functions_framework

calls = 0


@functions_framework.http
def handle(request):
    global calls
    calls += 1
    kind = request.path.strip("/")
    if kind == "str":
        return "plain text"
    if kind == "bytes":
        return b"raw bytes"
    if kind == "dict":
        return {"echo": request.get_json(silent=True), "args": request.args.to_dict()}
    if kind == "list":
        return [1, "two"]
    if kind == "created":
        return "made", 201
    if kind == "headers":
        return "with headers", 202, {"X-Fn": "yes"}
    if kind == "header-pair":
        return "header pair", {"X-Fn": "pair"}
    if kind == "response":
        return flask.Response("teapot", status=418, mimetype="text/x-tea")
    if kind == "none":
        return None
    if kind == "raise":
        raise RuntimeError("kaboom")
    if kind == "abort":
        flask.abort(403)
    print("serving call", calls)
    return {"pid": os.getpid(), "calls": calls, "target": os.environ.get("FUNCTION_TARGET"), "method": request.method}
`

func sourceOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func requirePython(t *testing.T) {
	t.Helper()
	if err := python.Require(context.Background(), python.DefaultInterpreter, "flask"); err != nil {
		t.Fatal(err)
	}
}

// trigger calls a function's HTTPS trigger as any HTTP client would.
func trigger(t *testing.T, e *env, fn, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+"/gcf/p1/us-central1/"+fn+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// A Python function's return value becomes the answer as Flask's make_response makes
// it, and an exception answers as functions-framework does.
func TestPythonFunctionAnswers(t *testing.T) {
	requirePython(t)
	e := start(t, gcf.Options{})
	src := sourceOf(t, map[string]string{"main.py": pyMain, "requirements.txt": "functions-framework==3.*\nFlask>=2\n"})
	if err := e.client.Deploy(context.Background(), faas.Function{Name: "py", Code: src, Kind: "python311", EntryPoint: "handle", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantType, wantBody       string
		wantHeader               [2]string
	}{
		{"a str is HTML", "GET", "/str", "", 200, "text/html; charset=utf-8", "plain text", [2]string{}},
		{"bytes as they are", "GET", "/bytes", "", 200, "text/html; charset=utf-8", "raw bytes", [2]string{}},
		{"a dict is JSON", "POST", "/dict?q=1", `{"a":1}`, 200, "application/json", `{"args":{"q":"1"},"echo":{"a":1}}`, [2]string{}},
		{"a list is JSON", "GET", "/list", "", 200, "application/json", `[1,"two"]`, [2]string{}},
		{"(body, status)", "GET", "/created", "", 201, "text/html; charset=utf-8", "made", [2]string{}},
		{"(body, status, headers)", "PUT", "/headers", "", 202, "text/html; charset=utf-8", "with headers", [2]string{"X-Fn", "yes"}},
		{"(body, headers)", "GET", "/header-pair", "", 200, "text/html; charset=utf-8", "header pair", [2]string{"X-Fn", "pair"}},
		{"a Response as it is", "GET", "/response", "", 418, "text/x-tea; charset=utf-8", "teapot", [2]string{}},
		{"an HTTP error the function raises", "GET", "/abort", "", 403, "text/html; charset=utf-8", "Forbidden", [2]string{}},
		{"None is a crash", "GET", "/none", "", 500, "text/html; charset=utf-8", "500 Internal Server Error", [2]string{"X-Google-Status", "crash"}},
		{"an exception is a crash", "DELETE", "/raise", "", 500, "text/html; charset=utf-8", "500 Internal Server Error", [2]string{"X-Google-Status", "crash"}},
		{"robots.txt is not the function's", "GET", "/robots.txt", "", 404, "text/html; charset=utf-8", "Not Found", [2]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := trigger(t, e, "py", tc.method, tc.path, tc.body)
			if tc.wantType == "application/json" {
				var v any
				if err := json.Unmarshal([]byte(body), &v); err == nil {
					compact, _ := json.Marshal(v)
					body = string(compact)
				}
			}
			if status != tc.wantStatus || header.Get("Content-Type") != tc.wantType || !strings.Contains(body, tc.wantBody) {
				t.Errorf("%d %q %q, want %d %q %q", status, header.Get("Content-Type"), body, tc.wantStatus, tc.wantType, tc.wantBody)
			}
			if k := tc.wantHeader[0]; k != "" && header.Get(k) != tc.wantHeader[1] {
				t.Errorf("header %s %q, want %q", k, header.Get(k), tc.wantHeader[1])
			}
		})
	}
}

// One instance serves call after call in one process, with the entry point named in
// FUNCTION_TARGET; an exception does not end it.
func TestPythonFunctionInstance(t *testing.T) {
	requirePython(t)
	e := start(t, gcf.Options{})
	ctx := context.Background()
	src := sourceOf(t, map[string]string{"main.py": pyMain})
	if err := e.client.Deploy(ctx, faas.Function{Name: "py", Code: src, Kind: "python312", EntryPoint: "handle", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		PID    int    `json:"pid"`
		Calls  int    `json:"calls"`
		Target string `json:"target"`
		Method string `json:"method"`
	}
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
			if status, _, _ := trigger(t, e, "py", "GET", "/raise", ""); status != 500 {
				t.Fatalf("the exception answered %d", status)
			}
		}
	}
	if runs[0].PID != runs[1].PID || runs[1].Calls != 3 || !acts[0].ColdStart || acts[1].ColdStart {
		t.Errorf("not one warm instance: %+v, cold %v then %v", runs, acts[0].ColdStart, acts[1].ColdStart)
	}
	if runs[0].Target != "handle" || runs[0].Method != "POST" {
		t.Errorf("the function saw %+v", runs[0])
	}
}

// A source that could not serve fails its deploy's operation with the reason, as
// Cloud Functions' build and first load fail it, and leaves no function behind.
func TestPythonBuildFailures(t *testing.T) {
	requirePython(t)
	e := start(t, gcf.Options{})
	ok := "def handle(request):\n    return 'ok'\n"
	tests := []struct {
		name  string
		files map[string]string
		entry string
		want  string
	}{
		{"no main.py", map[string]string{"function.py": ok}, "handle", "missing main.py"},
		{"no such entry point", map[string]string{"main.py": ok}, "nowhere", "File main.py is expected to contain a function named 'nowhere'. Found: 'handle'"},
		{"an entry point that is no function", map[string]string{"main.py": ok + "handler = 3\n"}, "handler", "needs to be of type function"},
		{"a missing requirement", map[string]string{"main.py": ok, "requirements.txt": "flask\ntorch-not-here==2.1\n"}, "handle", "requirements.txt asks for torch-not-here, which /usr/bin/python3 cannot import"},
		{"a syntax error", map[string]string{"main.py": "def handle(request):\n    return (\n"}, "handle", "SyntaxError"},
		{"an event function", map[string]string{"main.py": "import functions_framework\n\n@functions_framework.cloud_event\ndef handle(event):\n    pass\n"}, "handle", "HTTP functions only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.client.Deploy(context.Background(), faas.Function{Name: "broken", Code: sourceOf(t, tc.files), Kind: "python311", EntryPoint: tc.entry})
			if err == nil || !errors.Is(err, faas.ErrRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("deploy: %v, want a rejection with %q", err, tc.want)
			}
			if _, err := e.client.Get(context.Background(), "broken"); !errors.Is(err, faas.ErrFunctionMissing) {
				t.Errorf("a failed create left the function: %v", err)
			}
		})
	}
}
