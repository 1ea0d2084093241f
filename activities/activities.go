// Package activities holds FedKeeper's Temporal activities: deploy the client functions,
// write the initial model, invoke a client and wait for its activation, aggregate a
// round's updates and evaluate the result. They are thin: each calls into the FaaS
// adapters, the weight store or the FL packages and turns failures into errors the
// workflows' retry policies understand.
package activities

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/deploy"
	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/metrics"
	"github.com/fedkeeper/fedkeeper/weights"
)

// Error types that retry policies refuse to retry.
const (
	// ErrTypeBadConfig: the configuration cannot work (unsupported platform, bad path).
	ErrTypeBadConfig = "BadConfig"
	// ErrTypeRejected: the platform refused the request itself (credentials, limits).
	ErrTypeRejected = "Rejected"
	// ErrTypeNoUpdates: no client update of the round could be aggregated.
	ErrTypeNoUpdates = "NoUpdates"
)

// Deps are what the activities work with; the worker builds them from its config.
type Deps struct {
	Config *config.Config
	// BaseDir resolves relative func_path values (the config file's folder).
	BaseDir string
	// BuildDir caches built function binaries.
	BuildDir string
	Store    *weights.Store
	// Providers by "platform/cluster".
	Providers map[string]faas.Provider
	// Weights names the database and collection of the weights, as the functions are
	// told in their tasks.
	Weights   flclient.Store
	TrainData mnist.Source
	TestData  mnist.Source
	// TokenKey signs every invocation; the deployed functions hold it too.
	TokenKey string
	// Functions is what every function is deployed with: the token key, and where the
	// functions find MongoDB (their address for it may differ from the worker's own)
	// and the tensor directory.
	Functions deployment.Config
	Logger    *slog.Logger
	// Metrics records what the activities do; nil records nothing.
	Metrics *metrics.Metrics
	// Worker names this worker process in the records of the activations it handles.
	Worker string
}

// Activities is the receiver of every activity.
type Activities struct {
	deps       Deps
	placements []config.Placement
	checkEvery time.Duration
	pacer      pollPacer
	// turnWait bounds how long a batch's client waits for the one before it to be
	// invoked (maxTurnWait; tests wait longer).
	turnWait time.Duration

	mu         sync.Mutex
	test       *mnist.Dataset
	evaluators map[evalKey]scorer

	// Builds and redeploys are serialised: when thirty clients find their function gone
	// at once, one of them redeploys it and the others reuse that deployment.
	deployMu   sync.Mutex
	builder    *deploy.Builder
	deployedAt map[string]time.Time // last deployment per platform/cluster/function
	// id tells this set of activities from others of the same worker identity in
	// claims (several in one process, in tests and tools).
	id string
	// redeployPoll is how often a worker waiting for another's redeployment looks.
	redeployPoll time.Duration
}

// New wires the activities.
func New(deps Deps) *Activities {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Activities{
		deps: deps, placements: deps.Config.ClientPlacements(), checkEvery: checkEvery, turnWait: maxTurnWait,
		evaluators: map[evalKey]scorer{}, deployedAt: map[string]time.Time{},
		id: rand.Text()[:8], redeployPoll: 250 * time.Millisecond,
		builder: deploy.NewBuilder(deps.Config, deps.BaseDir, deps.BuildDir, deps.Functions),
	}
}

// Close releases cached evaluation graphs.
func (a *Activities) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ev := range a.evaluators {
		ev.close()
	}
	a.evaluators = map[evalKey]scorer{}
}

func badConfig(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeBadConfig, nil)
}

// classify turns a FaaS error into what the retry policy should do with it.
func classify(err error) error {
	if errors.Is(err, faas.ErrRejected) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRejected, err)
	}
	return err
}

func providerKey(platform config.Platform, cluster string) string {
	return string(platform) + "/" + cluster
}

func (a *Activities) provider(p config.Placement) (faas.Provider, error) {
	prov, ok := a.deps.Providers[providerKey(p.Platform, p.Cluster)]
	if !ok {
		return nil, badConfig("client %d is placed on %s cluster %q, which is not configured on this worker", p.Client, p.Platform, p.Cluster)
	}
	return prov, nil
}

func (a *Activities) placement(client int) (config.Placement, error) {
	if client < 0 || client >= len(a.placements) {
		return config.Placement{}, badConfig("client %d does not exist: the worker's config has %d clients", client, len(a.placements))
	}
	return a.placements[client], nil
}

// heartbeatWhile records heartbeats every few seconds until stop is called, for
// activities that block in one long call. stop returns once the heartbeats have ended,
// so none is sent after the activity finished.
func heartbeatWhile(ctx context.Context, details ...any) (stop func()) {
	return every(ctx, 5*time.Second, func() { beat(ctx, details...) })
}

// heartbeatSink takes the heartbeats of work that runs inside a larger activity: a
// batch's client (RunBatch) hands its invocation to the batch, which heartbeats for
// all its clients at once.
type heartbeatSink interface{ beat(details ...any) }

type heartbeatSinkKey struct{}

// withHeartbeatSink makes beat hand ctx's heartbeats to sink.
func withHeartbeatSink(ctx context.Context, sink heartbeatSink) context.Context {
	return context.WithValue(ctx, heartbeatSinkKey{}, sink)
}

// beat records a heartbeat for the activity of ctx, or hands it to the batch ctx's work
// runs in.
func beat(ctx context.Context, details ...any) {
	if sink, ok := ctx.Value(heartbeatSinkKey{}).(heartbeatSink); ok {
		sink.beat(details...)
		return
	}
	activity.RecordHeartbeat(ctx, details...)
}

// every runs fn every interval, beside the caller's work, until stop is called or ctx
// ends; stop returns once fn can run no more.
func every(ctx context.Context, interval time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				fn()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// clientSeed derives a client's training seed from the experiment's, so every client
// and round shuffles differently but reproducibly.
func clientSeed(seed uint64, round, client int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%d", seed, round, client)
	return h.Sum64()
}
