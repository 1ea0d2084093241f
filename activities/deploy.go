package activities

import (
	"context"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/weights"
)

// DeployFunctions deploys the client function to every cluster that hosts clients.
func (a *Activities) DeployFunctions(ctx context.Context, in DeployInput) (DeployResult, error) {
	targets := map[string]config.Placement{}
	for _, p := range a.placements {
		targets[providerKey(p.Platform, p.Cluster)+"/"+p.Function] = p
	}
	keys := make([]string, 0, len(targets))
	for k := range targets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var res DeployResult
	for _, k := range keys {
		if err := a.deploy(ctx, targets[k]); err != nil {
			return res, err
		}
		res.Functions = append(res.Functions, k)
		activity.RecordHeartbeat(ctx, k)
	}
	activity.GetLogger(ctx).Info("functions deployed", "experiment", in.Experiment, "functions", res.Functions)
	return res, nil
}

// deploy puts one client function on one cluster.
func (a *Activities) deploy(ctx context.Context, p config.Placement) error {
	return a.redeployIfOlder(ctx, p, time.Now())
}

// redeployIfOlder deploys unless a deployment of the same function finished after
// since: the caller's evidence (a 404) is older than that deployment.
func (a *Activities) redeployIfOlder(ctx context.Context, p config.Placement, since time.Time) error {
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
	stop := heartbeatWhile(ctx, "packaging "+p.Function)
	fn, err := a.builder.Function(ctx, p.Platform, p.Cluster, p.Function, a.deps.Config.Scenarios.FederatedLearning.Functions[p.Function])
	stop()
	if err != nil {
		return badConfig("package %s for %s cluster %q: %v", p.Function, p.Platform, p.Cluster, err)
	}
	if err := prov.Deploy(ctx, fn); err != nil {
		return classify(fmt.Errorf("deploy %s to %s cluster %q: %w", p.Function, p.Platform, p.Cluster, err))
	}
	return nil
}

// InitGlobal writes the initial global model, version 0. Running it again is harmless:
// the same seed gives the same weights, and a stored version 0 is kept.
func (a *Activities) InitGlobal(ctx context.Context, in InitInput) (InitResult, error) {
	manifest, err := in.Model.Manifest()
	if err != nil {
		return InitResult{}, badConfig("%v", err)
	}
	params := model.Init(manifest, in.Seed)
	if _, err := a.deps.Store.PutGlobal(ctx, weights.Global{Experiment: in.Experiment, Version: 0, Manifest: manifest, Params: params}); err != nil {
		return InitResult{}, fmt.Errorf("initial model of %s: %w", in.Experiment, err)
	}
	return InitResult{Version: 0, NumParams: len(params)}, nil
}
