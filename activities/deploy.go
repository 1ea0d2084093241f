package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/deploy"
	"github.com/fedkeeper/fedkeeper/functions/flserver"
	"github.com/fedkeeper/fedkeeper/functions/invocation"
)

// DeployFunctions deploys the client function to every cluster that hosts clients, and
// the server's functions to the server cluster.
func (a *Activities) DeployFunctions(ctx context.Context, in DeployInput) (DeployResult, error) {
	targets, err := deploy.ExperimentTargets(a.deps.Config)
	if err != nil {
		return DeployResult{}, badConfig("%v", err)
	}
	var res DeployResult
	for _, t := range targets {
		if err := a.deploy(ctx, config.Placement{Platform: t.Platform, Cluster: t.Cluster, Function: t.Function}); err != nil {
			return res, err
		}
		res.Functions = append(res.Functions, t.String())
		activity.RecordHeartbeat(ctx, t.String())
	}
	activity.GetLogger(ctx).Info("functions deployed", "experiment", in.Experiment, "functions", res.Functions)
	return res, nil
}

// deploy puts one function on one cluster.
func (a *Activities) deploy(ctx context.Context, p config.Placement) error {
	return a.redeployIfOlder(ctx, p, time.Now())
}

// redeployIfOlder deploys unless a deployment of the same function finished after
// since: the caller's evidence (a 404) is older than that deployment.
func (a *Activities) redeployIfOlder(ctx context.Context, p config.Placement, since time.Time) error {
	stop := heartbeatWhile(ctx, "deploying "+p.Function)
	defer stop()
	a.deployMu.Lock()
	defer a.deployMu.Unlock()
	key := providerKey(p.Platform, p.Cluster) + "/" + p.Function
	if a.deployedAt[key].After(since) {
		return nil
	}
	if err := a.deployLocked(ctx, p); err != nil {
		return err
	}
	a.deployedAt[key] = time.Now()
	return nil
}

func (a *Activities) deployLocked(ctx context.Context, p config.Placement) error {
	prov, err := a.provider(p)
	if err != nil {
		return err
	}
	fn, err := a.builder.Function(ctx, p.Platform, p.Cluster, p.Function, a.deps.Config.Scenarios.FederatedLearning.Functions[p.Function])
	if err != nil {
		return badConfig("package %s for %s cluster %q: %v", p.Function, p.Platform, p.Cluster, err)
	}
	if err := prov.Deploy(ctx, fn); err != nil {
		return classify(fmt.Errorf("deploy %s to %s cluster %q: %w", p.Function, p.Platform, p.Cluster, err))
	}
	return nil
}

// InitGlobal writes the initial global model (version 0) and the record of the clients'
// data partitions: here, or by invoking fl_server_init on the server cluster. Running it
// again is harmless: the same seed gives the same weights, and a stored version 0 is kept.
func (a *Activities) InitGlobal(ctx context.Context, in InitInput) (InitResult, error) {
	if _, err := in.Model.Manifest(); err != nil {
		return InitResult{}, badConfig("%v", err)
	}
	params := flserver.InitParams{Experiment: in.Experiment, Model: in.Model, Seed: in.Seed, Partition: in.Partition,
		Train: a.deps.TrainData, Store: a.deps.Weights}
	if a.serverMode(a.deps.Config.Scenarios.FederatedLearning.ServerConfig.Initialisation) {
		var res InitResult
		err := a.callServer(ctx, invocation.KindInit, params, &res)
		return res, err
	}
	stop := heartbeatWhile(ctx, "init")
	defer stop()
	return flserver.Init(ctx, a.deps.Store, params)
}
