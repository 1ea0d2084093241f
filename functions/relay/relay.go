// Package relay carries weights between MongoDB and clients that cannot reach it, the
// job of the seed's fl_invoker_weights_update: it reads the round's global model, sends
// it inside the client's request, and stores the update that comes back in the answer.
// The keeper relays this way for clusters marked relay_weights, and the
// fl_invoker_weights_update function does the same from inside a server cluster, for
// the clusters it was deployed with only.
package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Call sends a client its request and returns its result.
type Call func(ctx context.Context, req invocation.Request) (flclient.Result, error)

// Relay trains a client through call with the weights carried inline, and stores the
// update. req is the client's signed request and t its task, which names the base
// version's checksum (InlineSHA256, see Task); the returned result no longer holds the
// update's bytes.
func Relay(ctx context.Context, store *weights.Store, req invocation.Request, t flclient.Task, call Call) (flclient.Result, error) {
	manifest, err := t.Model.Manifest()
	if err != nil {
		return flclient.Result{}, err
	}
	data, sum, err := store.GlobalBytes(ctx, t.Experiment, t.BaseVersion)
	if err != nil {
		return flclient.Result{}, err
	}
	if sum != t.InlineSHA256 {
		return flclient.Result{}, fmt.Errorf("relay: client %d's task names global v%d as %.16s…, the store holds %.16s…", t.Client, t.BaseVersion, t.InlineSHA256, sum)
	}
	req.Inline = &invocation.Weights{Data: data, Checksum: sum}
	res, err := call(ctx, req)
	if err != nil {
		return flclient.Result{}, err
	}
	if res.Update == nil {
		return flclient.Result{}, fmt.Errorf("relay: client %d answered without its update", t.Client)
	}
	params, err := weights.Decode(res.Update.Data, manifest, res.Update.Checksum)
	if err != nil {
		return flclient.Result{}, fmt.Errorf("relay: update of client %d: %w", t.Client, err)
	}
	if res.Client != t.Client || res.Round != t.Round || res.Samples <= 0 {
		return flclient.Result{}, fmt.Errorf("relay: client %d answered for client %d, round %d, %d samples", t.Client, res.Client, res.Round, res.Samples)
	}
	stored, err := store.PutUpdate(ctx, weights.Update{Experiment: t.Experiment, Round: t.Round, Client: t.Client, Attempt: t.Attempt,
		BaseVersion: t.BaseVersion, Samples: res.Samples, Loss: res.Loss, Manifest: manifest, Params: params, AcceptLate: t.AcceptLate})
	if err != nil {
		return flclient.Result{}, err
	}
	res.UpdateSHA256, res.Update = stored, nil
	return res, nil
}

// HTTPCall calls a client function over HTTP (a Cloud Functions trigger, an OpenFaaS
// /function/ route, an OpenWhisk web action) with the request as the JSON body.
func HTTPCall(client *http.Client, t deployment.Target) Call {
	return func(ctx context.Context, r invocation.Request) (flclient.Result, error) {
		body, err := json.Marshal(r)
		if err != nil {
			return flclient.Result{}, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
		if err != nil {
			return flclient.Result{}, fmt.Errorf("relay: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range t.Header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return flclient.Result{}, fmt.Errorf("relay: call the client: %w", err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return flclient.Result{}, fmt.Errorf("relay: call the client: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return flclient.Result{}, fmt.Errorf("relay: the client answered HTTP %d: %.300s", resp.StatusCode, data)
		}
		var res flclient.Result
		if err := json.Unmarshal(data, &res); err != nil {
			return flclient.Result{}, fmt.Errorf("relay: the client's answer: %w", err)
		}
		return res, nil
	}
}
