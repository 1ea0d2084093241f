package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

// NoopAction is the action name the fan-out benchmark deploys; a binary that finds it
// in __OW_ACTION_NAME should answer every activation at once (see cmd/bench).
const NoopAction = "bench-noop"

// FanOut measures n concurrent invocations through the OpenWhisk adapter to the local
// fabric's API, from the first request to the last activation id, against the same
// number of concurrent POSTs to a handler that only answers 202, sent with a connection
// pool as large as the adapter's. It is the raw cost of the platform calls alone; the
// round benchmarks measure the fan-out on FedKeeper's whole path.
func FanOut(ctx context.Context, self string, dir string, ns []int) ([]Result, error) {
	// A real deployment raises the namespace limits for rounds this large; so does the
	// benchmark, or the 1,000-client fan-out meets the default 1,000 in flight.
	f, err := fabric.Start(ctx, fabric.Options{DataDir: dir, OpenWhisk: &openwhisk.Options{Auth: openwhisk.GuestAuth,
		ConcurrentInvocations: 100_000, InvocationsPerMinute: 1_000_000}})
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	c, err := owclient.New(owclient.Options{APIHost: f.URL, Namespace: "guest", Auth: openwhisk.GuestAuth})
	if err != nil {
		return nil, err
	}
	code, err := os.ReadFile(self)
	if err != nil {
		return nil, fmt.Errorf("bench: read own binary for the no-op action: %w", err)
	}
	zipped, err := pack.ZipExecutable("exec", code)
	if err != nil {
		return nil, err
	}
	if _, err := c.PutAction(ctx, NoopAction, owclient.Action{Exec: owclient.Exec{Kind: "go:1.22", Code: base64.StdEncoding.EncodeToString(zipped), Binary: true}}, true); err != nil {
		return nil, err
	}
	raw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"activationId":"0123456789abcdef0123456789abcdef"}`))
	}))
	defer raw.Close()

	// The adapter keeps 1,024 idle connections to its host; so does the baseline's
	// client (http.DefaultClient keeps 2, which made the baseline lose).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 0, 1024
	plain := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()
	var results []Result
	for _, n := range ns {
		// Warm the connections and the fabric once, as a running keeper would be.
		if _, err := c.Invoke(ctx, NoopAction, map[string]any{"warm": true}); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := concurrently(n, func(i int) error {
			_, err := c.Invoke(ctx, NoopAction, map[string]any{"client": i})
			return err
		}); err != nil {
			return nil, fmt.Errorf("bench: fan-out of %d: %w", n, err)
		}
		ours := time.Since(start).Seconds()
		start = time.Now()
		if err := concurrently(n, func(i int) error {
			resp, err := plain.Post(raw.URL, "application/json", nil)
			if err != nil {
				return err
			}
			return resp.Body.Close()
		}); err != nil {
			return nil, err
		}
		baseline := time.Since(start).Seconds()
		r := Result{Name: fmt.Sprintf("raw fan-out: %d concurrent invocations through the OpenWhisk adapter (local fabric)", n), Value: ours, Baseline: baseline,
			Unit: "s", Lower: true, BaselineName: "as many POSTs to a bare 202 handler, with as many pooled connections"}
		results = append(results, r)
	}
	return results, nil
}

// concurrently runs fn(0..n-1) at once and returns the first error.
func concurrently(n int, fn func(int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
