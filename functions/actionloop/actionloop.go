// Package actionloop is the function side of OpenWhisk's actionloop protocol, the one
// the Go runtime (openwhisk-runtime-go) speaks with an "exec" binary: acknowledge on
// file descriptor 3, then forever read one JSON request line from stdin, run the handler
// on its "value", and write one JSON result line to descriptor 3.
package actionloop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Handler runs one activation. params is the invocation's JSON object; the returned
// value must marshal to a JSON object. An error becomes {"error": message}, which
// OpenWhisk reports as an application error.
type Handler func(ctx context.Context, params json.RawMessage) (any, error)

// Request is one line the platform sends for an activation.
type Request struct {
	Value         json.RawMessage `json:"value"`
	Namespace     string          `json:"namespace"`
	ActionName    string          `json:"action_name"`
	ActionVersion string          `json:"action_version"`
	ActivationID  string          `json:"activation_id"`
	TransactionID string          `json:"transaction_id"`
	// Deadline is epoch milliseconds; the invoker sends it as a string.
	Deadline json.RawMessage `json:"deadline"`
	APIKey   string          `json:"api_key,omitempty"`
}

// maxLine bounds one request line (OpenWhisk caps parameters at 1 MB; leave room).
const maxLine = 16 << 20

// Serve runs the loop over the process's stdin and descriptor 3 until stdin closes.
func Serve(handler Handler) error {
	results := os.NewFile(3, "results")
	if results == nil {
		return fmt.Errorf("actionloop: file descriptor 3 is not open; run me under an actionloop runtime")
	}
	return Loop(context.Background(), os.Stdin, results, os.Getenv("__OW_WAIT_FOR_ACK") != "", handler)
}

// Loop is Serve over explicit streams, for tests and other hosts.
func Loop(ctx context.Context, in io.Reader, out io.Writer, ack bool, handler Handler) error {
	w := bufio.NewWriter(out)
	writeLine := func(v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			data, _ = json.Marshal(map[string]string{"error": "result is not JSON: " + err.Error()})
		}
		if _, err := w.Write(append(data, '\n')); err != nil {
			return err
		}
		return w.Flush()
	}
	if ack {
		if err := writeLine(map[string]bool{"ok": true}); err != nil {
			return fmt.Errorf("actionloop: acknowledge: %w", err)
		}
	}
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 64<<10), maxLine)
	for scanner.Scan() {
		result := runOne(ctx, scanner.Bytes(), handler)
		if err := writeLine(result); err != nil {
			return fmt.Errorf("actionloop: write result: %w", err)
		}
		// OpenWhisk frames each activation's logs with this marker.
		fmt.Fprintln(os.Stdout, "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX")
		fmt.Fprintln(os.Stderr, "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX")
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("actionloop: read request: %w", err)
	}
	return nil
}

func runOne(ctx context.Context, line []byte, handler Handler) (result any) {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return map[string]string{"error": "malformed activation request: " + err.Error()}
	}
	setEnv(req)
	if deadline, ok := parseDeadline(req.Deadline); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	params := req.Value
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	defer func() {
		if p := recover(); p != nil {
			result = map[string]string{"error": fmt.Sprintf("function panicked: %v", p)}
		}
	}()
	out, err := handler(ctx, params)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return out
}

// setEnv exposes the request's fields as __OW_* variables, as the stock launcher does.
func setEnv(req Request) {
	fields := map[string]string{
		"namespace": req.Namespace, "action_name": req.ActionName, "action_version": req.ActionVersion,
		"activation_id": req.ActivationID, "transaction_id": req.TransactionID, "api_key": req.APIKey,
		"deadline": strings.Trim(string(req.Deadline), `"`),
	}
	for k, v := range fields {
		if v != "" {
			os.Setenv("__OW_"+strings.ToUpper(k), v)
		}
	}
}

func parseDeadline(raw json.RawMessage) (time.Time, bool) {
	s := strings.Trim(string(raw), `"`)
	if s == "" {
		return time.Time{}, false
	}
	var ms int64
	if _, err := fmt.Sscan(s, &ms); err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
