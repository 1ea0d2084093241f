package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/deploy"
	"github.com/fedkeeper/fedkeeper/faas"
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

// deploy puts one function on one cluster, whether or not it is there.
func (a *Activities) deploy(ctx context.Context, p config.Placement) error {
	stop := heartbeatWhile(ctx, "deploying "+p.Function)
	defer stop()
	a.deployMu.Lock()
	defer a.deployMu.Unlock()
	if err := a.deployLocked(ctx, p); err != nil {
		return err
	}
	a.deployedAt[providerKey(p.Platform, p.Cluster)+"/"+p.Function] = time.Now()
	return nil
}

// redeployLease is how long a worker's claim to redeploy a function lasts unless it
// renews it, as it does every third of it while it deploys (a build on a cold cache
// takes minutes): a worker that died lets another take over within it.
const redeployLease = 30 * time.Second

// redeployIfOlder deploys a function its cluster lost, once however many clients on
// however many workers noticed (since is when the caller's evidence, a 404, came):
// not when this worker deployed it after since, nor when the cluster has it again;
// otherwise the one worker that claims the redeployment in the store does it while
// the others wait for the function to be back.
func (a *Activities) redeployIfOlder(ctx context.Context, p config.Placement, since time.Time) error {
	stop := heartbeatWhile(ctx, "deploying "+p.Function)
	defer stop()
	a.deployMu.Lock()
	defer a.deployMu.Unlock()
	key := providerKey(p.Platform, p.Cluster) + "/" + p.Function
	if a.deployedAt[key].After(since) {
		return nil
	}
	for {
		if a.present(ctx, p) {
			return nil
		}
		claimed, err := a.claimRedeploy(ctx, key)
		if err != nil {
			return err
		}
		if claimed {
			return a.redeployClaimed(ctx, p, key)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(a.redeployPoll):
		}
	}
}

// redeployClaimed deploys under this worker's claim, renewed meanwhile, and gives the
// claim up.
func (a *Activities) redeployClaimed(ctx context.Context, p config.Placement, key string) error {
	defer a.releaseRedeploy(key)
	if a.present(ctx, p) {
		// Another worker redeployed it between this one's look and its claim, and gave
		// its claim up since.
		return nil
	}
	stopRenewing := a.renewWhile(ctx, key)
	err := a.deployLocked(ctx, p)
	stopRenewing()
	if err != nil {
		return err
	}
	a.deployedAt[key] = time.Now()
	a.deps.Logger.Info("redeployed a function its cluster had lost", "function", p.Function, "platform", p.Platform, "cluster", p.Cluster)
	return nil
}

// present says whether the function is deployed on its cluster now.
func (a *Activities) present(ctx context.Context, p config.Placement) bool {
	prov, err := a.provider(p)
	if err != nil {
		return false
	}
	checker, ok := prov.(faas.Checker)
	if !ok {
		return false
	}
	d, err := checker.Deployment(ctx, p.Function)
	return err == nil && d.Exists
}

// claimRedeploy takes the store's claim to redeploy key; without a store (a worker of
// its own) the claim is always this worker's.
func (a *Activities) claimRedeploy(ctx context.Context, key string) (bool, error) {
	if a.deps.Store == nil {
		return true, nil
	}
	ok, err := a.deps.Store.Claim(ctx, "redeploy/"+key, a.holder(), redeployLease)
	if err != nil {
		return false, fmt.Errorf("claim the redeployment of %s: %w", key, err)
	}
	return ok, nil
}

// renewWhile renews the claim to redeploy key until the returned stop is called.
func (a *Activities) renewWhile(ctx context.Context, key string) (stop func()) {
	if a.deps.Store == nil {
		return func() {}
	}
	return every(ctx, redeployLease/3, func() {
		if _, err := a.deps.Store.Renew(ctx, "redeploy/"+key, a.holder(), redeployLease); err != nil {
			a.deps.Logger.Warn("could not renew a redeployment claim", "key", key, "error", err)
		}
	})
}

func (a *Activities) releaseRedeploy(key string) {
	if a.deps.Store == nil {
		return
	}
	// Released even when the activity's context ended: a kept claim blocks the others
	// until its lease lapses.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.deps.Store.Release(ctx, "redeploy/"+key, a.holder()); err != nil {
		a.deps.Logger.Warn("could not release a redeployment claim; it lapses by itself", "key", key, "error", err)
	}
}

// holder names this worker's claims: its identity and this process's activities.
func (a *Activities) holder() string { return a.deps.Worker + "/" + a.id }

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
		Synthetic: in.Synthetic, Store: a.deps.Weights}
	if !in.Synthetic.On() {
		params.Train = a.deps.TrainData // generated data need no files
	}
	if a.serverMode(a.deps.Config.Scenarios.FederatedLearning.ServerConfig.Initialisation) {
		var res InitResult
		err := a.callServer(ctx, invocation.KindInit, params, &res)
		return res, err
	}
	stop := heartbeatWhile(ctx, "init")
	defer stop()
	return flserver.Init(ctx, a.deps.Store, params)
}
