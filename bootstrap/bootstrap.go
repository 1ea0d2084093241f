// Package bootstrap wires FedKeeper's parts from a resolved config: the Temporal client,
// the weight store, the FaaS adapters and the activities, a worker with everything
// registered, and the experiment's workflow parameters. The worker and starter mains
// share it.
package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/fedkeeper/fedkeeper/activities"
	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
	gcfclient "github.com/fedkeeper/fedkeeper/faas/gcf"
	lambdaclient "github.com/fedkeeper/fedkeeper/faas/lambda"
	ofclient "github.com/fedkeeper/fedkeeper/faas/openfaas"
	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/mnist"
	"github.com/fedkeeper/fedkeeper/fl/model"
	"github.com/fedkeeper/fedkeeper/fl/partition"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
	"github.com/fedkeeper/fedkeeper/functions/token"
	"github.com/fedkeeper/fedkeeper/health"
	"github.com/fedkeeper/fedkeeper/logging"
	"github.com/fedkeeper/fedkeeper/metrics"
	"github.com/fedkeeper/fedkeeper/weights"
	"github.com/fedkeeper/fedkeeper/workflows"
)

// Dial connects to the config's Temporal frontend.
func Dial(ctx context.Context, cfg *config.Config, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.Temporal.HostPort,
		Namespace: cfg.Temporal.Namespace,
		Identity:  WorkerIdentity(),
		Logger:    sdklog.NewStructuredLogger(logging.AtLeast(logger, slog.LevelWarn)),
	}
	tlsConfig, err := temporalTLS(cfg.Temporal)
	if err != nil {
		return nil, err
	}
	opts.ConnectionOptions.TLS = tlsConfig
	if cfg.Temporal.APIKey != "" {
		// An API key goes over TLS (the SDK's default for it) unless plaintext says otherwise.
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.Temporal.APIKey)
		opts.ConnectionOptions.TLSDisabled = cfg.Temporal.Plaintext
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.Temporal.HostPort, cfg.Temporal.Namespace, err)
	}
	return c, nil
}

// privacyOf is the clients' mechanism; the zero value when clip is 0, so experiments
// without it carry nothing new.
func privacyOf(p config.Privacy) privacy.Mechanism {
	if p.Clip == 0 {
		return privacy.Mechanism{}
	}
	return privacy.Mechanism{Clip: p.Clip, NoiseMultiplier: p.NoiseMultiplier, Delta: p.Delta}
}

// attackOf is the attack, its attackers drawn with the experiment's seed; the zero
// value when there is none.
func attackOf(a config.Attack, seed uint64) attack.Spec {
	if a.Kind == "" || a.Fraction == 0 {
		return attack.Spec{}
	}
	s := attack.Spec{Kind: a.Kind, Fraction: a.Fraction, Seed: seed}
	if a.Kind != attack.SignFlip {
		s.Factor = a.Factor
	}
	return s
}

// dirichletAlpha is the concentration the partition spec carries: only the dirichlet
// scheme has one, so specs of the other schemes stay as earlier builds wrote them.
func dirichletAlpha(ds config.DataSampling) float64 {
	if ds.Distribution != string(partition.Dirichlet) {
		return 0
	}
	return ds.DirichletAlpha
}

// WorkerIdentity names this process to Temporal (its pollers in the Web UI) and in the
// records of the activations it handles: "pid@host".
func WorkerIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%d@%s", os.Getpid(), host)
}

// Sources returns where the training and test data are: the config's URLs, or the MNIST
// copy inside the GoMNIST module.
func Sources(cfg *config.Config) (train, test mnist.Source, err error) {
	d := cfg.Scenarios.FederatedLearning.TrainingTestData
	if d.TrainImagesURL == "" || d.TrainLabelsURL == "" || d.TestImagesURL == "" || d.TestLabelsURL == "" {
		defTrain, defTest, err := mnist.DefaultSources()
		if err != nil {
			return mnist.Source{}, mnist.Source{}, err
		}
		train, test = defTrain, defTest
	}
	pick := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	pick(&train.ImagesURL, d.TrainImagesURL)
	pick(&train.LabelsURL, d.TrainLabelsURL)
	pick(&test.ImagesURL, d.TestImagesURL)
	pick(&test.LabelsURL, d.TestLabelsURL)
	return train, test, nil
}

// Providers builds an adapter for every configured cluster.
func Providers(ctx context.Context, cfg *config.Config) (map[string]faas.Provider, error) {
	out := map[string]faas.Provider{}
	for name, c := range cfg.Providers.OpenWhisk {
		if config.IsEmbedded(c.Auth.OWAPIHost) {
			return nil, fmt.Errorf("OpenWhisk cluster %s: no API host (the embedded fabric is not running)", name)
		}
		cl, err := owclient.New(owclient.Options{APIHost: c.Auth.OWAPIHost, Namespace: c.Namespace, Auth: c.Auth.OWAuth, Insecure: c.Insecure})
		if err != nil {
			return nil, fmt.Errorf("providers.openwhisk.%s: %w", name, err)
		}
		out[string(config.OpenWhisk)+"/"+name] = cl
	}
	for name, c := range cfg.Providers.Google {
		if c.Embedded() {
			return nil, fmt.Errorf("Google cluster %s: no API endpoint (the embedded fabric is not running)", name)
		}
		project, region := c.ProjectAndRegion()
		opts := gcfclient.Options{Endpoint: c.APIEndpoint, Project: project, Region: region, Token: c.AccessToken}
		if opts.Token == "" && c.Auth.PrivateKey != "" {
			key, err := json.Marshal(c.Auth)
			if err != nil {
				return nil, fmt.Errorf("providers.google.%s.auth: %w", name, err)
			}
			opts.CredentialsJSON = key
		}
		cl, err := gcfclient.New(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("providers.google.%s: %w", name, err)
		}
		out[string(config.Google)+"/"+name] = cl
	}
	for name, c := range cfg.Providers.OpenFaaS {
		if c.Embedded() {
			return nil, fmt.Errorf("OpenFaaS gateway %s: no address (the embedded fabric is not running)", name)
		}
		cl, err := ofclient.New(ofclient.Options{Gateway: c.Gateway, User: c.Auth.User, Password: c.Auth.Password})
		if err != nil {
			return nil, fmt.Errorf("providers.openfaas.%s: %w", name, err)
		}
		out[string(config.OpenFaaS)+"/"+name] = cl
	}
	for name, c := range cfg.Providers.AWS {
		if c.Embedded() {
			return nil, fmt.Errorf("AWS Lambda cluster %s: no endpoint (the embedded fabric is not running)", name)
		}
		cl, err := lambdaclient.New(ctx, lambdaclient.Options{Region: c.Region, Endpoint: c.Endpoint, Role: c.Role,
			AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Profile: c.Profile})
		if err != nil {
			return nil, fmt.Errorf("providers.aws.%s: %w", name, err)
		}
		out[string(config.AWS)+"/"+name] = cl
	}
	return out, nil
}

// Activities connects the store and adapters and returns the activities with a
// function that releases them.
func Activities(ctx context.Context, cfg *config.Config, baseDir string, logger *slog.Logger) (*activities.Activities, func(), error) {
	return ActivitiesWithMetrics(ctx, cfg, baseDir, logger, nil)
}

// ConnectStore connects to the config's weight store (its embedded address resolved).
func ConnectStore(ctx context.Context, cfg *config.Config) (*weights.Store, error) {
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	return weights.Connect(ctx, weights.Options{URI: mc.URL, DB: mc.DB, Collection: mc.Collection, TensorDir: mc.TensorDirectory()})
}

// ActivitiesWithMetrics is Activities recording into m (see ServeMetrics).
func ActivitiesWithMetrics(ctx context.Context, cfg *config.Config, baseDir string, logger *slog.Logger, m *metrics.Metrics) (*activities.Activities, func(), error) {
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	store, err := ConnectStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if m != nil {
		store.CountBytes(m.WeightBytes)
	}
	providers, err := Providers(ctx, cfg)
	if err != nil {
		_ = store.Close(context.Background())
		return nil, nil, err
	}
	train, test, err := Sources(cfg)
	if err != nil {
		_ = store.Close(context.Background())
		return nil, nil, err
	}
	dep, err := FunctionsDeployment(cfg)
	if err != nil {
		_ = store.Close(context.Background())
		return nil, nil, err
	}
	acts := activities.New(activities.Deps{
		TokenKey: dep.TokenKey,
		Config:   cfg, BaseDir: baseDir, BuildDir: filepath.Join(cfg.DataDir, "build"),
		Store: store, Providers: providers,
		Weights:   flclient.Store{DB: mc.DB, Collection: mc.Collection},
		Functions: dep,
		TrainData: train, TestData: test, Logger: logger, Metrics: m, Worker: WorkerIdentity(),
	})
	return acts, func() {
		acts.Close()
		_ = store.Close(context.Background())
	}, nil
}

// ServeMetrics serves a worker's Prometheus metrics at the config's metrics.listen
// (nothing when it is "off") until ctx ends, and returns them with the address; with a
// checker, /healthz and /readyz beside them, behind the same token.
func ServeMetrics(ctx context.Context, cfg *config.Config, logger *slog.Logger, checker *health.Checker) (*metrics.Metrics, string, error) {
	if cfg.Metrics.Listen == config.MetricsOff {
		return nil, "", nil
	}
	token, err := MetricsToken(cfg)
	if err != nil {
		return nil, "", err
	}
	m := metrics.New()
	var routes map[string]http.Handler
	if checker != nil {
		routes = map[string]http.Handler{"/healthz": checker.Live(), "/readyz": checker.ReadyHandler()}
	}
	addr, err := m.Serve(ctx, cfg.Metrics.Listen, token, routes)
	if err != nil {
		return nil, "", err
	}
	if _, port, _ := net.SplitHostPort(cfg.Metrics.Listen); addr != cfg.Metrics.Listen && port != "0" {
		logger.Warn("metrics address in use, took another", "wanted", cfg.Metrics.Listen, "metrics", "http://"+addr+"/metrics")
	} else {
		logger.Info("serving metrics", "metrics", "http://"+addr+"/metrics")
	}
	return m, addr, nil
}

// MetricsToken is the bearer token scrapers present: the config's, or one kept in the
// data directory (created on first use).
func MetricsToken(cfg *config.Config) (string, error) {
	if cfg.Metrics.Token != "" {
		return cfg.Metrics.Token, nil
	}
	path := filepath.Join(cfg.DataDir, "metrics.token")
	t, err := token.LoadOrCreate(path)
	if err != nil {
		return "", fmt.Errorf("metrics.token is empty and %s cannot hold a generated one: %w", path, err)
	}
	return t, nil
}

// TokenKey is the key invocations are signed with: the config's, or the one kept in
// the data directory (created on first use).
func TokenKey(cfg *config.Config) (string, error) {
	if cfg.Security.TokenKey != "" {
		return cfg.Security.TokenKey, nil
	}
	key, err := token.LoadOrCreate(filepath.Join(cfg.DataDir, "token.key"))
	if err != nil {
		return "", fmt.Errorf("security.token_key is empty and %s cannot hold a generated one: %w", filepath.Join(cfg.DataDir, "token.key"), err)
	}
	return key, nil
}

// FunctionsDeployment is what the config's functions are deployed with: the token key,
// the MongoDB address and the tensor directory (see package deployment).
func FunctionsDeployment(cfg *config.Config) (deployment.Config, error) {
	key, err := TokenKey(cfg)
	if err != nil {
		return deployment.Config{}, err
	}
	mc := cfg.Scenarios.FederatedLearning.MongoConfig
	return deployment.Config{TokenKey: key, MongoURI: mc.URL, TensorDir: mc.TensorDirectory()}, nil
}

// NewWorker registers the workflows and activities on the config's task queue.
func NewWorker(c client.Client, cfg *config.Config, acts *activities.Activities) worker.Worker {
	w := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{
		// A stopping worker lets running activities finish this long, then cancels them;
		// Temporal retries them on the other workers.
		WorkerStopTimeout:                  cfg.Worker.StopTimeoutDuration(),
		MaxConcurrentActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
	})
	Register(w, acts)
	return w
}

// StartWorker builds the activities and starts a worker of them, for tools and tests
// that host one beside their own work (no metrics endpoint); stop ends both.
func StartWorker(ctx context.Context, c client.Client, cfg *config.Config, baseDir string, logger *slog.Logger) (stop func(), err error) {
	acts, release, err := Activities(ctx, cfg, baseDir, logger)
	if err != nil {
		return nil, err
	}
	w := NewWorker(c, cfg, acts)
	if err := w.Start(); err != nil {
		release()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return func() {
		w.Stop()
		release()
	}, nil
}

// Register puts FedKeeper's workflows and activities on a worker (or replayer).
func Register(r worker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.ExperimentWorkflow, workflow.RegisterOptions{Name: workflows.ExperimentWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.RoundWorkflow, workflow.RegisterOptions{Name: workflows.RoundWorkflowName})
	if acts != nil {
		// Close and other helpers are not activities.
		r.RegisterActivityWithOptions(acts, activity.RegisterOptions{SkipInvalidStructFunctions: true})
	}
}

// Experiment turns the config into the experiment workflow's parameters.
func Experiment(cfg *config.Config, id string) workflows.ExperimentParams {
	fl := cfg.Scenarios.FederatedLearning
	ds := fl.DataSampling
	seed := uint64(cfg.Seed)
	return workflows.ExperimentParams{
		Experiment: id,
		Model:      ds.ModelSpec(),
		Train: model.TrainOptions{Optimizer: fl.ModelParams.Optim, LR: fl.ModelParams.LR, Epochs: fl.ModelParams.LocalEpochs,
			BatchSize: ds.BatchSize, Seed: seed, ProximalMu: fl.Strategy.Spec().ProximalMu},
		Strategy:     fl.Strategy.Spec(),
		Privacy:      privacyOf(fl.Privacy),
		Attack:       attackOf(fl.Attack, seed),
		Partition:    partitionOf(fl, seed),
		Synthetic:    syntheticOf(fl, seed),
		Stragglers:   workflows.StragglerSpec{Fraction: fl.Stragglers.Fraction, Keep: fl.Stragglers.Fraction > 0 && fl.Strategy.KeepsStragglers()},
		TotalClients: fl.ClientsInfo.TotalNumClients, ClientsPerRound: fl.ClientsInfo.PerRound(),
		Selection: fl.ClientsInfo.SelectionSpec(),
		Async:     asyncOf(fl),
		Seed:      seed, MaxRounds: cfg.Stop.MaxRounds, TargetAccuracy: cfg.Stop.TargetAccuracy,
		MaxAttempts: fl.Round.MaxAttempts, MinClientsFraction: fl.Round.MinClientsFraction,
		DeadlineSeconds: fl.Round.DeadlineSeconds, LateUpdates: fl.Round.LateUpdates, MaxInFlight: fl.Round.MaxInFlight,
		MaxRecordedRuns: fl.Round.MaxRecordedRuns, Batched: true, ClientsPerActivity: fl.Round.ClientsPerActivity,
		NoFold: !fl.Round.FoldUpdates,
	}
}

// partitionOf is how MNIST is split among the clients; none for synthetic data, whose
// devices are the clients.
func partitionOf(fl config.FederatedLearning, seed uint64) partition.Spec {
	ds := fl.DataSampling
	if ds.Synthetic() {
		return partition.Spec{}
	}
	return partition.Spec{Scheme: partition.Scheme(ds.Distribution), NumClients: fl.ClientsInfo.TotalNumClients,
		ShardsPerClient: ds.ShardsPerClient, ShardSize: ds.ShardSize, Seed: seed, Alpha: dirichletAlpha(ds)}
}

// syntheticOf is the experiment's synthetic dataset, one device per client, rooted in
// the experiment's seed; the zero Spec for MNIST, so those experiments carry nothing new.
func syntheticOf(fl config.FederatedLearning, seed uint64) synthetic.Spec {
	ds := fl.DataSampling
	if !ds.Synthetic() {
		return synthetic.Spec{}
	}
	if ds.Distribution == "iid" {
		return synthetic.Spec{IID: true, Devices: fl.ClientsInfo.TotalNumClients, Seed: seed}
	}
	return synthetic.Spec{Alpha: ds.Alpha, Beta: ds.Beta, Devices: fl.ClientsInfo.TotalNumClients, Seed: seed}
}

// asyncOf is the semi-asynchronous setting of the rounds (zero: synchronous).
func asyncOf(fl config.FederatedLearning) workflows.AsyncSpec {
	k := fl.Round.AggregateAfter(fl.ClientsInfo.PerRound())
	if k == 0 {
		return workflows.AsyncSpec{}
	}
	return workflows.AsyncSpec{MinUpdates: k, StalenessExponent: fl.Round.StalenessExponent, MaxStaleness: fl.Round.MaxStaleness}
}
