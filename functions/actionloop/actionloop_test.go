package actionloop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestLoopSpeaksTheProtocol(t *testing.T) {
	in := strings.Join([]string{
		`{"value":{"x":2},"activation_id":"abc","action_name":"/guest/f","deadline":"99999999999999"}`,
		`{"value":{"fail":true}}`,
		`not json`,
		`{"value":{"panic":true}}`,
	}, "\n") + "\n"
	var out bytes.Buffer
	handler := func(ctx context.Context, params json.RawMessage) (any, error) {
		var p map[string]any
		json.Unmarshal(params, &p)
		if p["fail"] == true {
			return nil, errors.New("bad input")
		}
		if p["panic"] == true {
			panic("boom")
		}
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("no deadline")
		}
		return map[string]any{"double": p["x"].(float64) * 2, "id": os.Getenv("__OW_ACTIVATION_ID")}, nil
	}
	if err := Loop(context.Background(), strings.NewReader(in), &out, true, handler); err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not a JSON object", sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines, want the ack and four results: %v", len(lines), lines)
	}
	if lines[0]["ok"] != true {
		t.Errorf("ack %v", lines[0])
	}
	if lines[1]["double"] != 4.0 || lines[1]["id"] != "abc" {
		t.Errorf("result %v", lines[1])
	}
	if lines[2]["error"] != "bad input" {
		t.Errorf("error result %v", lines[2])
	}
	if !strings.Contains(lines[3]["error"].(string), "malformed") {
		t.Errorf("malformed request %v", lines[3])
	}
	if !strings.Contains(lines[4]["error"].(string), "panicked") {
		t.Errorf("panic %v", lines[4])
	}
}
