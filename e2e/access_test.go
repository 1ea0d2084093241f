package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/fedkeeper/fedkeeper/config"
)

// checkTemporalAccess asserts that the embedded Temporal frontend and its Web UI refuse
// callers without the stack's API key, and serve those with it.
func checkTemporalAccess(ctx context.Context, t *testing.T, cfg *config.Config, uiURL string, internode []string, id string) {
	if cfg.Temporal.APIKey == "" {
		t.Fatal("the stack handed out no Temporal API key")
	}
	for _, tc := range []struct {
		name string
		key  string
	}{{"no key", ""}, {"a wrong key", strings.Repeat("0", len(cfg.Temporal.APIKey))}} {
		opts := client.Options{HostPort: cfg.Temporal.HostPort, Namespace: cfg.Temporal.Namespace}
		if tc.key != "" {
			opts.Credentials = client.NewAPIKeyStaticCredentials(tc.key)
			opts.ConnectionOptions.TLSDisabled = true
		}
		c, err := client.DialContext(ctx, opts)
		if err != nil {
			// Refusing the connection outright is as good as refusing the call.
			continue
		}
		_, err = c.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: cfg.Temporal.Namespace})
		c.Close()
		var denied *serviceerror.PermissionDenied
		if !errors.As(err, &denied) {
			t.Errorf("with %s the frontend answered %v, want permission denied", tc.name, err)
		}
	}

	// The history, matching, worker and internal frontend services want a client
	// certificate; TLS 1.3 reports its absence at the first read.
	if len(internode) != 4 {
		t.Errorf("internode addresses %v, want four", internode)
	}
	for _, addr := range internode {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = conn.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
			_, err = conn.Read(make([]byte, 64))
			conn.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("service at %s answered a caller without a certificate (%v)", addr, err)
		}
	}

	if uiURL == "" {
		t.Fatal("the stack reports no Web UI")
	}
	get := func(path, password string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uiURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if password != "" {
			req.SetBasicAuth("me", password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without a WWW-Authenticate header, browsers would not ask", path)
		}
		return resp.StatusCode, string(body)
	}
	list := "/api/v1/namespaces/" + url.PathEscape(cfg.Temporal.Namespace) + "/workflows"
	for _, password := range []string{"", "not-the-key"} {
		for _, path := range []string{"/", list} {
			if status, _ := get(path, password); status != http.StatusUnauthorized {
				t.Errorf("UI %s with password %q: status %d, want 401", path, password, status)
			}
		}
	}
	if status, _ := get("/", cfg.Temporal.APIKey); status != http.StatusOK {
		t.Errorf("UI page with the key: status %d", status)
	}
	// The UI's own API reaches the frontend with the key the gate passes on.
	status, body := get(list, cfg.Temporal.APIKey)
	var listed struct {
		Executions []struct {
			Execution struct {
				WorkflowID string `json:"workflowId"`
			} `json:"execution"`
		} `json:"executions"`
	}
	if err := json.Unmarshal([]byte(body), &listed); status != http.StatusOK || err != nil {
		t.Fatalf("UI workflow list with the key: status %d, %v: %.300s", status, err, body)
	}
	found := false
	for _, e := range listed.Executions {
		found = found || e.Execution.WorkflowID == id
	}
	if !found {
		t.Errorf("the UI does not list experiment %s: %.300s", id, body)
	}
}
