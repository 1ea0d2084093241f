package openwhisk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/faas"
	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric/archive/archivetest"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric/python"
)

// pyEcho reports what an activation sees: its value, its environment and its process.
const pyEcho = `import os

calls = 0

def main(args):
    global calls
    calls += 1
    print("called with", sorted(args))
    env = {k: os.environ.get(k) for k in ("GREETING", "__OW_ACTIVATION_ID", "__OW_ACTION_NAME", "__OW_DEADLINE", "__OW_NAMESPACE")}
    return {"args": args, "env": env, "pid": os.getpid(), "calls": calls}
`

// Python actions run under OpenWhisk's Python actionloop protocol, each outcome read as
// OpenWhisk reads it.
func TestPythonActions(t *testing.T) {
	if err := python.Require(context.Background(), python.DefaultInterpreter); err != nil {
		t.Fatal(err)
	}
	e := start(t, openwhisk.Options{})
	helper := "def double(x):\n    return 2 * x\n"
	tests := []struct {
		name       string
		code       []byte
		kind, main string
		params     map[string]any
		wantHTTP   int
		wantStatus string
		// wantResult is in the result's JSON; wantLog in one of the activation's lines.
		wantResult, wantLog string
	}{
		{name: "a zip with __main__.py and a module beside it", kind: "python:3.11",
			code:   archivetest.Zip(t, map[string][]byte{"__main__.py": []byte("from helper import double\n\ndef main(args):\n    print('doubling', args['x'])\n    return {'doubled': double(args['x'])}\n"), "helper.py": []byte(helper)}),
			params: map[string]any{"x": 21}, wantHTTP: 200, wantStatus: "success", wantResult: `{"doubled":42}`, wantLog: "stdout: doubling 21"},
		{name: "a single file, another main", kind: "python:3", main: "handle",
			code:   []byte("def handle(args):\n    return {'hello': args.get('who', 'world')}\n"),
			params: map[string]any{"who": "whisk"}, wantHTTP: 200, wantStatus: "success", wantResult: `{"hello":"whisk"}`},
		{name: "a list is a result", kind: "python:default", code: []byte("def main(args):\n    return [1, 2, 3]\n"),
			wantHTTP: 200, wantStatus: "success", wantResult: `[1,2,3]`},
		{name: "an exception is the action's error", kind: "python:3.10",
			code:     []byte("def main(args):\n    raise ValueError('no good: ' + str(args.get('x')))\n"),
			params:   map[string]any{"x": 7},
			wantHTTP: 502, wantStatus: "application error", wantResult: `{"error":"no good: 7"}`, wantLog: "stderr: ValueError: no good: 7"},
		{name: "a string is not a result", kind: "python:3.11", code: []byte("def main(args):\n    return 'hello'\n"),
			wantHTTP: 502, wantStatus: "action developer error", wantResult: "did not return a dictionary or array"},
		{name: "a result JSON cannot hold kills the launcher", kind: "python:3.11", code: []byte("def main(args):\n    return {'s': {1, 2}}\n"),
			wantHTTP: 502, wantStatus: "action developer error", wantResult: "exited unexpectedly", wantLog: "is not JSON serializable"},
		{name: "a zip without __main__.py fails its initialisation", kind: "python:3.11",
			code:     archivetest.Zip(t, map[string][]byte{"main.py": []byte("def main(args):\n    return {}\n")}),
			wantHTTP: 502, wantStatus: "action developer error", wantResult: "Zip file does not include __main__.py"},
		{name: "a missing main fails its initialisation", kind: "python:3.11", main: "nowhere", code: []byte("def main(args):\n    return {}\n"),
			wantHTTP: 502, wantStatus: "action developer error", wantResult: "has no function nowhere"},
		{name: "a syntax error fails its initialisation", kind: "python:3.11", code: []byte("def main(args):\n    return {\n"),
			wantHTTP: 502, wantStatus: "action developer error", wantResult: "SyntaxError"},
		{name: "a missing requirement fails its initialisation", kind: "python:3.11",
			code:     archivetest.Zip(t, map[string][]byte{"__main__.py": []byte("def main(args):\n    return {}\n"), "requirements.txt": []byte("json5-not-here==1.0\n")}),
			wantHTTP: 502, wantStatus: "action developer error", wantResult: "requirements.txt asks for json5-not-here"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "py" + string(rune('a'+i))
			ctx := context.Background()
			if err := e.client.Deploy(ctx, faas.Function{Name: name, Code: tc.code, Kind: tc.kind, EntryPoint: tc.main, Timeout: 30 * time.Second}); err != nil {
				t.Fatal(err)
			}
			status, _, m, raw := e.call("POST", "/api/v1/namespaces/guest/actions/"+name+"?blocking=true", tc.params, e.auth)
			if status != tc.wantHTTP {
				t.Fatalf("HTTP %d, want %d: %s", status, tc.wantHTTP, raw)
			}
			resp, _ := m["response"].(map[string]any)
			if bytes.HasPrefix(raw, []byte("[")) {
				// OpenWhisk answers an array result bare, without the record.
				resp = map[string]any{"status": "success", "result": json.RawMessage(raw)}
			}
			result, _ := json.Marshal(resp["result"])
			if resp["status"] != tc.wantStatus || !strings.Contains(string(result), tc.wantResult) {
				t.Errorf("response %v, want %s with %s", resp, tc.wantStatus, tc.wantResult)
			}
			logs, _ := json.Marshal(m["logs"])
			if tc.wantLog != "" && !strings.Contains(string(logs), tc.wantLog) {
				t.Errorf("logs %s, want a line with %q", logs, tc.wantLog)
			}
		})
	}
}

// A warm Python container serves the next activation in the same process; the
// parameters marked init are its environment, never an activation's parameters; each
// activation's __OW_ variables are its own, and its logs hold only its own lines.
func TestPythonActionProcessAndEnvironment(t *testing.T) {
	if err := python.Require(context.Background(), python.DefaultInterpreter); err != nil {
		t.Fatal(err)
	}
	e := start(t, openwhisk.Options{})
	ctx := context.Background()
	fn := faas.Function{Name: "echo", Code: archivetest.Zip(t, map[string][]byte{"__main__.py": []byte(pyEcho)}), Kind: "python:3.11",
		Env: map[string]string{"GREETING": "hi"}, Timeout: 30 * time.Second}
	if err := e.client.Deploy(ctx, fn); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Args  map[string]any    `json:"args"`
		Env   map[string]string `json:"env"`
		PID   int               `json:"pid"`
		Calls int               `json:"calls"`
	}
	var runs []seen
	var records []owclient.Record
	for i := range 2 {
		inv, err := e.client.InvokeAction(ctx, "echo", map[string]any{"round": i}, true)
		if err != nil || inv.Record == nil || !inv.Record.Response.Success {
			t.Fatalf("invoke %d: %+v %v", i, inv.Record, err)
		}
		var s seen
		if err := json.Unmarshal(inv.Record.Response.Result, &s); err != nil {
			t.Fatal(err)
		}
		runs, records = append(runs, s), append(records, *inv.Record)
	}
	first, second := runs[0], runs[1]
	checks := []struct {
		name string
		ok   bool
	}{
		{"warm reuse: one process, its state kept", first.PID == second.PID && first.Calls == 1 && second.Calls == 2},
		{"the first cold, the second warm", hasAnnotation(records[0], "initTime") && !hasAnnotation(records[1], "initTime")},
		{"init parameters are the environment", first.Env["GREETING"] == "hi"},
		{"init parameters are not parameters", first.Args["GREETING"] == nil && first.Args["round"] == 0.0},
		{"the activation's own id", first.Env["__OW_ACTIVATION_ID"] == records[0].ActivationID && second.Env["__OW_ACTIVATION_ID"] == records[1].ActivationID},
		{"the action's name and namespace", first.Env["__OW_ACTION_NAME"] == "/guest/echo" && first.Env["__OW_NAMESPACE"] == "guest"},
		{"the deadline in epoch milliseconds", len(first.Env["__OW_DEADLINE"]) == 13},
		{"each activation logs its own lines", len(records[1].Logs) == 1 && strings.Contains(records[1].Logs[0], "called with ['round']")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: runs %+v, records %+v", c.name, runs, records)
		}
	}
}

func hasAnnotation(r owclient.Record, key string) bool {
	_, ok := r.Annotation(key)
	return ok
}
