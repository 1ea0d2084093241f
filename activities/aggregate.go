package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/functions/flserver"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
)

// Aggregate averages the round's updates of the given clients into global version Round
// (see flserver.Aggregate): here, or by invoking fl_server_aggregator on the server
// cluster when the config asks for aggregation as a function. A round already
// aggregated returns the stored version unchanged, so a retry never counts an update twice.
func (a *Activities) Aggregate(ctx context.Context, in AggregateInput) (AggregateResult, error) {
	start := time.Now()
	params := flserver.AggregateParams{Experiment: in.Experiment, Round: in.Round, BaseVersion: in.BaseVersion,
		Clients: in.Clients, Model: in.Model, Strategy: in.Strategy, Late: in.Late, Partials: in.Partials,
		KeepUpdates: in.KeepUpdates, Store: a.deps.Weights}
	var res flserver.AggregateResult
	var err error
	if a.serverMode(a.deps.Config.Scenarios.FederatedLearning.ServerConfig.Aggregation) {
		err = a.callServer(ctx, invocation.KindAggregate, params, &res)
	} else {
		res, err = flserver.Aggregate(ctx, a.deps.Store, params, func(client int) { activity.RecordHeartbeat(ctx, client) })
	}
	if errors.Is(err, flserver.ErrNoUpdates) {
		return AggregateResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNoUpdates, nil)
	}
	if errors.Is(err, flserver.ErrBadStrategy) {
		return AggregateResult{}, badConfig("%v", err)
	}
	if err != nil {
		return AggregateResult{}, err
	}
	if res.Existing {
		activity.GetLogger(ctx).Info("round already aggregated", "experiment", in.Experiment, "version", res.Version)
	}
	seconds := time.Since(start).Seconds()
	if !res.Existing {
		a.deps.Metrics.Aggregated(seconds)
	}
	return AggregateResult{Version: res.Version, Updates: res.Updates, Samples: res.Samples, Counted: res.Counted,
		Rejected: res.Rejected, Stale: res.Stale, Seconds: seconds, FromPartials: res.FromPartials}, nil
}

// CleanUpRound deletes a synchronous round's updates and running sums once its version
// is stored: run beside the evaluation instead of before it (AggregateInput.KeepUpdates).
func (a *Activities) CleanUpRound(ctx context.Context, in CleanUpInput) (int, error) {
	stop := heartbeatWhile(ctx, in.Round)
	defer stop()
	if _, err := a.deps.Store.GlobalInfo(ctx, in.Experiment, in.Round); err != nil {
		return 0, fmt.Errorf("clean up round %d: its version: %w", in.Round, err)
	}
	n, err := a.deps.Store.DeleteRoundUpdates(ctx, in.Experiment, in.Round)
	if err != nil {
		return 0, fmt.Errorf("clean up round %d: %w", in.Round, err)
	}
	return n, nil
}

// serverMode reports whether a server step runs as a function on the server cluster.
func (a *Activities) serverMode(mode string) bool { return mode == config.ServerFunction }

// callServer invokes one of the server's functions on the server cluster with the
// signed task and decodes its result into out.
func (a *Activities) callServer(ctx context.Context, function string, task any, out any) error {
	cluster := a.deps.Config.Scenarios.FederatedLearning.ServerConfig.ServerClusterName
	p := config.Placement{Platform: a.deps.Config.PlatformOf(cluster), Cluster: cluster, Function: function}
	params, err := invocation.Seal(a.deps.TokenKey, function, task, a.expiry(p))
	if err != nil {
		return badConfig("%v", err)
	}
	prov, err := a.provider(p)
	if err != nil {
		return err
	}
	caller, ok := prov.(faas.Caller)
	if !ok {
		return badConfig("the server cluster %q cannot call functions", cluster)
	}
	stop := heartbeatWhile(ctx, function)
	defer stop()
	act, err := caller.Call(ctx, function, params)
	if errors.Is(err, faas.ErrFunctionMissing) {
		if err := a.redeployIfOlder(ctx, p, time.Now()); err != nil {
			return err
		}
		act, err = caller.Call(ctx, function, params)
	}
	if err != nil {
		return classify(fmt.Errorf("%s on %q: %w", function, cluster, err))
	}
	if !act.Success {
		var body struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(act.Result, &body)
		if strings.Contains(body.Error, flserver.ErrNoUpdates.Error()) {
			return fmt.Errorf("%s: %w", function, flserver.ErrNoUpdates)
		}
		return fmt.Errorf("%s on %q failed (%s): %s", function, cluster, act.Status, body.Error)
	}
	if err := json.Unmarshal(act.Result, out); err != nil {
		return fmt.Errorf("%s on %q: result: %w", function, cluster, err)
	}
	return nil
}
