package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// The original FedKeeper's sample config loads as it is.
func TestSeedSampleLoads(t *testing.T) {
	data, err := os.ReadFile("testdata/config-sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fl := c.Scenarios.FederatedLearning
	checks := []struct {
		name string
		ok   bool
	}{
		{"name", c.Name == "test_mnist_nn_100_clients_adam_10_local_epochs_fixed_final_training_time"},
		{"openwhisk cluster", c.Providers.OpenWhisk["invasic_cluster"].Configurations.EachHostRAM == "755gb"},
		{"namespace from base_url", c.Providers.OpenWhisk["invasic_cluster"].Namespace == "guest"},
		{"google cluster", c.Providers.Google["gcf_cluster"].Auth.Type == "service_account"},
		{"clients", fl.ClientsInfo.TotalNumClients == 2 && fl.ClientsInfo.OWClientsCount == 1 && fl.ClientsInfo.GCFClientsCount == 1},
		{"string numbers", fl.ModelParams.LR == 1e-3 && fl.ModelParams.LocalEpochs == 5},
		{"model", fl.DataSampling.Model == "cnn" && fl.DataSampling.BatchSize == 10},
		{"bare mongo host", fl.MongoConfig.URL == "mongodb://<ADD_MONGO_IP_HERE>:27017"},
		{"function memory", fl.Functions["fl_client"].OpenWhisk.Memory == 2048 && fl.Functions["fl_client"].Google.Memory == "2048MB"},
		{"server functions", len(fl.ServerConfig.ServerManagerFunctions) == 3},
		{"test scenario", c.Scenarios.Test.Functions["nodeinfo"].Google.EntryPoint == "main"},
		{"defaults", c.Temporal.TaskQueue == "fedkeeper" && c.Stop.MaxRounds == 50 && c.ResultsDir == "results"},
	}
	for _, check := range checks {
		if !check.ok {
			t.Errorf("%s: not as in the sample", check.name)
		}
	}
	placements := c.ClientPlacements()
	if len(placements) != 2 || placements[0].Platform != OpenWhisk || placements[1].Platform != Google || placements[1].Cluster != "gcf_cluster" {
		t.Errorf("placements %+v", placements)
	}
}

func TestEmptyConfigIsTheEmbeddedDefault(t *testing.T) {
	c, err := Parse([]byte("{}"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !IsEmbedded(c.Temporal.HostPort) || !IsEmbedded(c.Scenarios.FederatedLearning.MongoConfig.URL) {
		t.Errorf("services not embedded: %+v %+v", c.Temporal, c.Scenarios.FederatedLearning.MongoConfig)
	}
	local, ok := c.Providers.OpenWhisk["local"]
	if !ok || !IsEmbedded(local.Auth.OWAPIHost) {
		t.Errorf("no embedded OpenWhisk cluster: %+v", c.Providers)
	}
	if fn := c.Scenarios.FederatedLearning.Functions[DefaultClientFunction].OpenWhisk; fn == nil || fn.FuncPath == "" || fn.Timeout != 300000 {
		t.Errorf("default client function %+v", fn)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	yaml := `
temporal:
  host_port: example.org:7233
providers:
  openwhisk:
    edge:
      auth:
        ow_auth: "a:b"
        ow_api_host: https://ow.example.org
`
	c, err := Parse([]byte(yaml), envOf(map[string]string{
		"FEDKEEPER_TEMPORAL_HOST_PORT":                              "temporal.internal:7233",
		"FEDKEEPER_PROVIDERS_OPENWHISK_EDGE_AUTH_OW_AUTH":           "uuid:secret",
		"FEDKEEPER_SCENARIOS_FEDERATED_LEARNING_MONGO_CONFIG_URL":   "mongodb://db:27017",
		"FEDKEEPER_STOP_MAX_ROUNDS":                                 "7",
		"FEDKEEPER_SCENARIOS_FEDERATED_LEARNING_MODEL_PARAMS_OPTIM": "SGD",
		"FEDKEEPER_TEMPORAL_API_KEY":                                "key-from-env",
		"FEDKEEPER_TEMPORAL_TLS_CERT_FILE":                          "/run/secrets/client.pem",
		"FEDKEEPER_TEMPORAL_TLS_KEY_FILE":                           "/run/secrets/client.key",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.HostPort != "temporal.internal:7233" || c.Providers.OpenWhisk["edge"].Auth.OWAuth != "uuid:secret" ||
		c.Scenarios.FederatedLearning.MongoConfig.URL != "mongodb://db:27017" || c.Stop.MaxRounds != 7 ||
		c.Scenarios.FederatedLearning.ModelParams.Optim != "sgd" || c.Temporal.APIKey != "key-from-env" ||
		c.Temporal.TLS.CertFile != "/run/secrets/client.pem" || c.Temporal.TLS.KeyFile != "/run/secrets/client.key" {
		t.Errorf("overrides not applied: %+v", c)
	}
	if _, err := Parse([]byte("{}"), envOf(map[string]string{"FEDKEEPER_STOP_MAX_ROUNDS": "many"})); err == nil ||
		!strings.Contains(err.Error(), "stop.max_rounds") {
		t.Errorf("bad override: %v", err)
	}
}

func TestInvalidInputNamesTheKey(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantKey string
		wantMsg string
	}{
		{"malformed yaml", "scenarios: [\n  - a\n b: c", "", "yaml"},
		{"wrong type", "stop:\n  max_rounds: many", "stop.max_rounds", "cannot read \"many\" as an integer"},
		{"list for a number", "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: [1, 2]",
			"scenarios.federated_learning.clients_info.total_num_clients", "expected an integer"},
		{"unknown key", "scenarios:\n  federated_learning:\n    clients_info:\n      num_client_per_round: 3",
			"scenarios.federated_learning.clients_info", "num_client_per_round"},
		{"more per round than total", "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 5\n      num_clients_per_round: 6",
			"scenarios.federated_learning.clients_info.num_clients_per_round", "6 is more than total_num_clients (5)"},
		{"counts do not add up", "providers:\n  openwhisk:\n    a: {}\n  google:\n    g: {}\nscenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 5\n      num_clients_per_round: 2\n      ow_clients_count: 2\n      gcf_clients_count: 2",
			"scenarios.federated_learning.clients_info", "= 4, but total_num_clients is 5"},
		{"gcf clients without a cluster", "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 2\n      num_clients_per_round: 2\n      gcf_clients_count: 2",
			"providers.google", "no Google Cloud Functions cluster"},
		{"real openwhisk without credentials", "providers:\n  openwhisk:\n    lab:\n      auth:\n        ow_api_host: https://10.0.0.5:31001",
			"providers.openwhisk.lab.auth.ow_auth", "is missing"},
		{"real cloud functions without project", "providers:\n  google:\n    gcp:\n      api_endpoint: https://cloudfunctions.googleapis.com\n      region: europe-west1",
			"providers.google.gcp.project", "is missing"},
		{"bad log format", "log:\n  format: xml", "log.format", "must be text or json"},
		{"a relative Python interpreter", "providers:\n  openfaas:\n    edge:\n      fabric:\n        python: python3",
			"providers.openfaas.edge.fabric.python", "must be an absolute path"},
		{"negative noise", "scenarios:\n  federated_learning:\n    privacy:\n      clip: 1\n      noise_multiplier: -1", "scenarios.federated_learning.privacy", "noise multiplier must not be negative"},
		{"clipping without noise", "scenarios:\n  federated_learning:\n    privacy:\n      clip: 1\n      noise_multiplier: 0", "scenarios.federated_learning.privacy.noise_multiplier", "no privacy guarantee"},
		{"unknown attack", "scenarios:\n  federated_learning:\n    attack:\n      kind: poison\n      fraction: 0.1", "scenarios.federated_learning.attack", "unknown kind"},
		{"bad stop timeout", "worker:\n  stop_timeout: soon", "worker.stop_timeout", "a duration like 30s"},
		{"client certificate without its key", "temporal:\n  host_port: t.example.org:7233\n  tls:\n    cert_file: client.pem", "temporal.tls.cert_file", "go together"},
		{"tls and plaintext", "temporal:\n  host_port: t.example.org:7233\n  plaintext: true\n  tls:\n    enabled: true", "temporal.plaintext", "contradicts temporal.tls"},
		{"bad metrics address", "metrics:\n  listen: 9464", "metrics.listen", "host:port or \"off\""},
		{"unknown seed log layout", "seed_log:\n  format: csv", "seed_log.format", "must be off, accuracy_time or training_time, got \"csv\""},
		{"a round larger than a workflow history holds", "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 10000\n      num_clients_per_round: 9000",
			"scenarios.federated_learning.clients_info.num_clients_per_round", "caps at 51,200 events"},
		{"too many clients per activity", "scenarios:\n  federated_learning:\n    round:\n      clients_per_activity: 101", "scenarios.federated_learning.round.clients_per_activity", "between 1 and 100"},
		{"too many clients in flight", "scenarios:\n  federated_learning:\n    round:\n      max_in_flight: 5000", "scenarios.federated_learning.round.max_in_flight", "between 1 and 1900"},
		{"unknown model", "scenarios:\n  federated_learning:\n    data_sampling:\n      model: resnet", "scenarios.federated_learning.data_sampling.model", "must be mlp (the seed's mnistnn), cnn or mclr"},
		{"unknown optimiser", "scenarios:\n  federated_learning:\n    model_params:\n      optim: rmsprop", "scenarios.federated_learning.model_params.optim", "must be adam, nadam (the seed's ndam) or sgd"},
		{"zero learning rate", "scenarios:\n  federated_learning:\n    model_params:\n      lr: 0", "scenarios.federated_learning.model_params.lr", "positive"},
		{"target above one", "stop:\n  target_accuracy: 97", "stop.target_accuracy", "between 0 and 1"},
		{"bad temporal address", "temporal:\n  host_port: nowhere", "temporal.host_port", "host:port"},
		{"server cluster missing", "scenarios:\n  federated_learning:\n    server_config:\n      server_cluster_name: ghost", "scenarios.federated_learning.server_config.server_cluster_name", "no cluster named \"ghost\""},
		{"client function without a section for its platform", "scenarios:\n  federated_learning:\n    clients_info:\n      client_functions: [fl_client, torch]\n    functions:\n      torch:\n        google:\n          func_path: /f", "scenarios.federated_learning.functions.torch.openwhisk", "is missing: clients of function \"torch\" run on openwhisk"},
		{"client function undescribed", "scenarios:\n  federated_learning:\n    clients_info:\n      client_functions: [trainer]", "scenarios.federated_learning.clients_info.client_functions", "\"trainer\""},
		{"bad distribution", "scenarios:\n  federated_learning:\n    data_sampling:\n      distribution: zipf", "scenarios.federated_learning.data_sampling.distribution", "non_iid, iid or dirichlet"},
		{"dirichlet without concentration", "scenarios:\n  federated_learning:\n    data_sampling:\n      distribution: dirichlet\n      dirichlet_alpha: 0", "scenarios.federated_learning.data_sampling.dirichlet_alpha", "must be positive"},
		{"negative timeout", "scenarios:\n  federated_learning:\n    functions:\n      fl_client:\n        openwhisk:\n          timeout: -5", "scenarios.federated_learning.functions.fl_client.openwhisk.timeout", "positive"},
		{"lambda clients without a cluster", "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 2\n      num_clients_per_round: 2\n      lambda_clients_count: 2",
			"providers.aws", "no AWS Lambda cluster"},
		{"negative lambda clients", "scenarios:\n  federated_learning:\n    clients_info:\n      lambda_clients_count: -1",
			"scenarios.federated_learning.clients_info.lambda_clients_count", "must not be negative"},
		{"counts with lambda do not add up", "providers:\n  aws:\n    lab: {}\nscenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 5\n      num_clients_per_round: 2\n      lambda_clients_count: 3",
			"scenarios.federated_learning.clients_info", "lambda_clients_count = 3, but total_num_clients is 5"},
		{"real lambda without a region", "providers:\n  aws:\n    prod:\n      role: arn:aws:iam::123456789012:role/fl",
			"providers.aws.prod.region", "is missing"},
		{"real lambda without a role", "providers:\n  aws:\n    prod:\n      endpoint: https://lambda.eu-west-1.amazonaws.com\n      region: eu-west-1",
			"providers.aws.prod.role", "is missing"},
		{"a role that is no role's ARN", "providers:\n  aws:\n    prod:\n      region: eu-west-1\n      role: fedkeeper-fl",
			"providers.aws.prod.role", "must be an IAM role's ARN"},
		{"a key id without its secret", "providers:\n  aws:\n    prod:\n      region: eu-west-1\n      role: arn:aws:iam::123456789012:role/fl\n      access_key_id: AKIAX",
			"providers.aws.prod.secret_access_key", "go together"},
		{"a bad region", "providers:\n  aws:\n    prod:\n      region: europe\n      role: arn:aws:iam::123456789012:role/fl",
			"providers.aws.prod.region", "a region id such as us-east-1"},
		{"a lambda timeout past 900s", "scenarios:\n  federated_learning:\n    functions:\n      fl_client:\n        aws:\n          timeout: 901s", "scenarios.federated_learning.functions.fl_client.aws.timeout", "at most 900s"},
		{"a lambda memory below 128 MB", "scenarios:\n  federated_learning:\n    functions:\n      fl_client:\n        aws:\n          memory: 64", "scenarios.federated_learning.functions.fl_client.aws.memory", "128 to 10240 MB"},
		{"a lambda runtime FedKeeper cannot deploy", "scenarios:\n  federated_learning:\n    functions:\n      fl_client:\n        aws:\n          runtime: nodejs20.x", "scenarios.federated_learning.functions.fl_client.aws.runtime", "provided.al2023"},
		{"edge timeout without unit", "scenarios:\n  federated_learning:\n    functions:\n      fl_client:\n        openfaas:\n          timeout: 30", "scenarios.federated_learning.functions.fl_client.openfaas.timeout", "a duration like 300s, got \"30\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
			if !strings.HasPrefix(msg, "config: "+tc.wantKey) || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("got %q, want key %q and %q", msg, tc.wantKey, tc.wantMsg)
			}
		})
	}
}

func TestPlacementsFollowTheCounts(t *testing.T) {
	yaml := `
providers:
  openwhisk:
    b: {}
    a: {}
  google:
    g: {}
scenarios:
  federated_learning:
    clients_info:
      total_num_clients: 5
      num_clients_per_round: 5
      ow_clients_count: 3
      gcf_clients_count: 2
`
	c, err := Parse([]byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, p := range c.ClientPlacements() {
		got += string(p.Platform) + "/" + p.Cluster + " "
	}
	if want := "openwhisk/a openwhisk/b openwhisk/a google/g google/g "; got != want {
		t.Errorf("placements %q, want %q", got, want)
	}
}

// Lambda's clients come after the edge's; with no counts, every client goes to the
// first platform that has a cluster, Lambda too when it is the only one.
func TestLambdaPlacements(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"after the edge", "providers:\n  openwhisk:\n    a: {}\n  openfaas:\n    e: {}\n  aws:\n    l2: {}\n    l1: {}\n" +
			"scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 5\n      num_clients_per_round: 5\n" +
			"      ow_clients_count: 1\n      edge_clients_count: 1\n      lambda_clients_count: 3\n",
			"openwhisk/a openfaas/e aws/l1 aws/l2 aws/l1 "},
		{"the only platform", "providers:\n  aws:\n    lab: {}\nscenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 2\n      num_clients_per_round: 2\n",
			"aws/lab aws/lab "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, p := range c.ClientPlacements() {
				got += string(p.Platform) + "/" + p.Cluster + " "
			}
			if got != tc.want {
				t.Errorf("placements %q, want %q", got, tc.want)
			}
			if fn := c.Scenarios.FederatedLearning.Functions["fl_client"].AWS; fn == nil || fn.FuncPath != "./functions/lambda" || fn.Memory != 512 {
				t.Errorf("the built-in client's aws section: %+v", fn)
			}
		})
	}
}

// Several client functions share every cluster: each cluster's clients take them in
// turn.
func TestPlacementsShareTheClientFunctions(t *testing.T) {
	fn := "        openwhisk:\n          func_path: /f\n        google:\n          func_path: /f\n"
	yaml := "providers:\n  openwhisk:\n    b: {}\n    a: {}\n  google:\n    g: {}\n" +
		"scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 7\n      num_clients_per_round: 7\n" +
		"      ow_clients_count: 5\n      gcf_clients_count: 2\n      client_functions: [go, torch]\n" +
		"    functions:\n      go:\n" + fn + "      torch:\n" + fn
	c, err := Parse([]byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, p := range c.ClientPlacements() {
		got += p.Cluster + ":" + p.Function + " "
	}
	if want := "a:go b:go a:torch b:torch a:go g:go g:torch "; got != want {
		t.Errorf("placements %q, want %q", got, want)
	}
}

func TestLoadReportsMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("error %v", err)
	}
}

func TestTensorDirectory(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ value, want string }{
		{"", ""},
		{"off", ""},
		{"/srv/tensors", "/srv/tensors"},
		// Functions run in folders of their own, so a relative path is made absolute.
		{"shared/tensors", filepath.Join(wd, "shared/tensors")},
	} {
		c, err := Parse([]byte("{}"), envOf(map[string]string{"FEDKEEPER_SCENARIOS_FEDERATED_LEARNING_MONGO_CONFIG_TENSOR_DIR": tc.value}))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Scenarios.FederatedLearning.MongoConfig.TensorDirectory(); got != tc.want {
			t.Errorf("tensor_dir %q: got %q, want %q", tc.value, got, tc.want)
		}
	}
}

// A cluster's credentials may live in the environment only, the file naming the cluster.
func TestClusterCredentialsFromTheEnvironment(t *testing.T) {
	yaml := `
providers:
  openwhisk:
    lab:
      auth:
        ow_api_host: https://ow.example.org
  google:
    gcp:
      project: p
      region: europe-west1
      api_endpoint: https://cloudfunctions.googleapis.com
`
	c, err := Parse([]byte(yaml), envOf(map[string]string{
		"FEDKEEPER_PROVIDERS_OPENWHISK_LAB_AUTH_OW_AUTH":       "uuid:secret",
		"FEDKEEPER_PROVIDERS_GOOGLE_GCP_AUTH_PRIVATE_KEY":      "-----BEGIN PRIVATE KEY-----",
		"FEDKEEPER_PROVIDERS_GOOGLE_GCP_AUTH_CLIENT_EMAIL":     "fk@p.iam.gserviceaccount.com",
		"FEDKEEPER_PROVIDERS_OPENWHISK_ELSEWHERE_AUTH_OW_AUTH": "not a configured cluster",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Providers.OpenWhisk["lab"].Auth.OWAuth; got != "uuid:secret" {
		t.Errorf("ow_auth %q", got)
	}
	if a := c.Providers.Google["gcp"].Auth; a.PrivateKey == "" || a.ClientEmail != "fk@p.iam.gserviceaccount.com" {
		t.Errorf("service account %+v", a)
	}
	if _, ok := c.Providers.OpenWhisk["elsewhere"]; ok {
		t.Error("an environment variable created a cluster the file does not name")
	}
}

func TestStrategy(t *testing.T) {
	parse := func(yaml string) (*Config, error) { return Parse([]byte(yaml), noEnv) }
	c, err := parse("{}")
	if err != nil || c.Scenarios.FederatedLearning.Strategy.Spec().Kind() != "fedavg" || c.Scenarios.FederatedLearning.Strategy.Spec().Name != "" {
		t.Fatalf("default strategy %+v (%v)", c.Scenarios.FederatedLearning.Strategy, err)
	}
	c, err = parse("scenarios:\n  federated_learning:\n    strategy:\n      name: Trimmed-Mean\n      trim_beta: 0.2")
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Scenarios.FederatedLearning.Strategy.Spec(); s.Name != "trimmed_mean" || s.TrimBeta != 0.2 || s.Byzantine != 0 {
		t.Errorf("trimmed mean %+v", s)
	}
	c, err = parse("scenarios:\n  federated_learning:\n    strategy:\n      name: fedadam\n      server_lr: 0.05")
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Scenarios.FederatedLearning.Strategy.Spec(); s.ServerLR != 0.05 || s.TrimBeta != 0 {
		t.Errorf("fedadam %+v", s)
	}
	for _, tc := range []struct{ yaml, key, msg string }{
		{"scenarios:\n  federated_learning:\n    strategy:\n      name: fedsgd", "scenarios.federated_learning.strategy", "unknown strategy"},
		{"scenarios:\n  federated_learning:\n    strategy:\n      name: fedprox", "scenarios.federated_learning.strategy.proximal_mu", "is required for fedprox"},
		{"scenarios:\n  federated_learning:\n    strategy:\n      name: fedprox\n      proximal_mu: .inf", "scenarios.federated_learning.strategy", "finite proximal_mu"},
		{"scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 10\n      num_clients_per_round: 4\n    strategy:\n      name: krum\n      byzantine: 1",
			"scenarios.federated_learning.strategy.byzantine", "more than 4 clients per round"},
	} {
		_, err := parse(tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v", tc.yaml, err)
		}
	}
}

func TestClientSelection(t *testing.T) {
	parse := func(yaml string) (*Config, error) { return Parse([]byte(yaml), noEnv) }
	ci := func(extra string) string {
		return "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 20\n      num_clients_per_round: 4\n" + extra
	}
	for _, tc := range []struct {
		name, yaml string
		perRound   int
		policy     string
		tiers      int
	}{
		{"random by default", ci(""), 4, "", 0},
		{"all", ci("      selection: all\n"), 20, "", 0},
		{"a fraction, rounded up", ci("      selection: fraction\n      fraction: 0.11\n"), 3, "", 0},
		{"straggler aware", ci("      selection: straggler_aware\n      straggler_tiers: 5\n"), 4, "straggler_aware", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			info := c.Scenarios.FederatedLearning.ClientsInfo
			if got := info.PerRound(); got != tc.perRound {
				t.Errorf("%d clients per round, want %d", got, tc.perRound)
			}
			if s := info.SelectionSpec(); s.Policy != tc.policy || s.Tiers != tc.tiers {
				t.Errorf("spec %+v", s)
			}
		})
	}
	for _, tc := range []struct{ yaml, key, msg string }{
		{ci("      selection: fastest\n"), "scenarios.federated_learning.clients_info.selection", "must be random, all, fraction or straggler_aware"},
		{ci("      selection: fraction\n"), "scenarios.federated_learning.clients_info.fraction", "must be in (0, 1]"},
		{ci("      selection: fraction\n      fraction: 1.5\n"), "scenarios.federated_learning.clients_info.fraction", "got 1.5"},
		{ci("      straggler_tiers: -1\n"), "scenarios.federated_learning.clients_info.straggler_tiers", "must not be negative"},
		// With all, the round's size is total_num_clients, so that is the key to blame.
		{"scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 9000\n      num_clients_per_round: 4\n      selection: all\n",
			"scenarios.federated_learning.clients_info.total_num_clients", "9000 clients per round is more than 8000"},
	} {
		_, err := parse(tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v", tc.yaml, err)
		}
	}
}

func TestRoundModes(t *testing.T) {
	parse := func(yaml string) (*Config, error) { return Parse([]byte(yaml), noEnv) }
	base := "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 20\n      num_clients_per_round: 5\n    round:\n"
	for _, tc := range []struct {
		yaml string
		want int
	}{
		{base + "      mode: sync\n", 0},
		{base + "      mode: semi_async\n", 3}, // half of 5, rounded up
		{base + "      mode: semi_async\n      min_updates: 1\n", 1},
	} {
		c, err := parse(tc.yaml)
		if err != nil {
			t.Fatal(err)
		}
		fl := c.Scenarios.FederatedLearning
		if got := fl.Round.AggregateAfter(fl.ClientsInfo.PerRound()); got != tc.want {
			t.Errorf("%q: aggregates after %d, want %d", tc.yaml, got, tc.want)
		}
		if fl.Round.StalenessExponent != 0.5 || fl.Round.MaxStaleness != 5 {
			t.Errorf("defaults %+v", fl.Round)
		}
	}
	for _, tc := range []struct{ yaml, key, msg string }{
		{base + "      mode: async\n", "scenarios.federated_learning.round.mode", "must be sync or semi_async"},
		{base + "      mode: semi_async\n      min_updates: 6\n", "scenarios.federated_learning.round.min_updates", "clients per round (5)"},
		{base + "      staleness_exponent: -1\n", "scenarios.federated_learning.round.staleness_exponent", "≥ 0"},
		{base + "      max_staleness: 0\n", "scenarios.federated_learning.round.max_staleness", "at least 1"},
	} {
		_, err := parse(tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v", tc.yaml, err)
		}
	}
}

// The seed's functions knew the MLP only as "mnistnn" and Nadam only as "ndam"; its
// configs load with them and mean what they meant there.
func TestSeedModelAndOptimiserNames(t *testing.T) {
	tests := []struct {
		model, optim         string
		wantModel, wantOptim string
	}{
		{"mnistnn", "ndam", "mlp", "nadam"},
		{"MnistNN", " NDAM ", "mlp", "nadam"},
		{"nn", "adam", "mlp", "adam"},
		{"cnn", "sgd", "cnn", "sgd"},
		{"mlp", "nadam", "mlp", "nadam"},
	}
	for _, tc := range tests {
		t.Run(tc.model+"/"+tc.optim, func(t *testing.T) {
			yaml := fmt.Sprintf("scenarios:\n  federated_learning:\n    data_sampling: {model: %q}\n    model_params: {optim: %q}\n", tc.model, tc.optim)
			c, err := Parse([]byte(yaml), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			fl := c.Scenarios.FederatedLearning
			if fl.DataSampling.Model != tc.wantModel || fl.ModelParams.Optim != tc.wantOptim {
				t.Errorf("model %q, optim %q; want %q, %q", fl.DataSampling.Model, fl.ModelParams.Optim, tc.wantModel, tc.wantOptim)
			}
		})
	}
}

func TestSeedLog(t *testing.T) {
	tests := []struct {
		yaml       string
		wantFormat string
		wantPath   string
		wantOn     bool
	}{
		{"{}", Off, "", false},
		{"seed_log: {format: off}", Off, "", false},
		{"seed_log: {format: \"\"}", Off, "", false},
		{"seed_log: {format: Accuracy_Time}", SeedLogAccuracyTime, "", true},
		{"seed_log: {format: training_time, path: logs/log_nn.log}", SeedLogTrainingTime, "logs/log_nn.log", true},
	}
	for _, tc := range tests {
		t.Run(tc.yaml, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if c.SeedLog.Format != tc.wantFormat || c.SeedLog.Path != tc.wantPath || c.SeedLog.On() != tc.wantOn {
				t.Errorf("seed_log %+v (on %v), want %q %q %v", c.SeedLog, c.SeedLog.On(), tc.wantFormat, tc.wantPath, tc.wantOn)
			}
		})
	}
	c, err := Parse([]byte("{}"), envOf(map[string]string{"FEDKEEPER_SEED_LOG_FORMAT": "training_time"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SeedLog.Format != SeedLogTrainingTime {
		t.Errorf("from the environment: format %q", c.SeedLog.Format)
	}
}

// The seed's sample after the steps of docs/MIGRATING.md describes FedKeeper's own
// functions, its data and the seed's stop rule.
func TestSeedSamplePorted(t *testing.T) {
	data, err := os.ReadFile("testdata/config-sample-ported.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fl := c.Scenarios.FederatedLearning
	client := fl.Functions["fl_client"]
	nodeinfo := c.Scenarios.Test.Functions["nodeinfo"]
	checks := []struct {
		name string
		ok   bool
	}{
		{"built-in OpenWhisk functions", client.OpenWhisk.FuncPath == "./functions/openwhisk" &&
			fl.Functions["fl_server_init"].OpenWhisk.FuncPath == "./functions/openwhisk" &&
			fl.Functions["fl_invoker_weights_update"].OpenWhisk.FuncPath == "./functions/openwhisk"},
		{"built-in Cloud Function", client.Google.FuncPath == "./functions/gcf" && client.Google.Runtime == "" && client.Google.EntryPoint == "fl_client"},
		{"the seed's limits kept", client.OpenWhisk.Memory == 2048 && client.Google.Memory == "2048MB"},
		{"GoMNIST data", fl.TrainingTestData == TrainingTestData{}},
		{"the seed's stop rule", c.Stop.TargetAccuracy == 0.9895 && c.Stop.MaxRounds == 1000},
		{"wsk -i", c.Providers.OpenWhisk["invasic_cluster"].Insecure},
		{"cluster test", nodeinfo.OpenWhisk.FuncPath == "./functions/openwhisk" && nodeinfo.Google.FuncPath == "./functions/gcf" &&
			nodeinfo.Google.Runtime == "" && nodeinfo.Google.EntryPoint == ""},
	}
	for _, check := range checks {
		if !check.ok {
			t.Errorf("%s: not as docs/MIGRATING.md says", check.name)
		}
	}
}

// FedProx with μ = 0 is the paper's ablation (FedAvg that keeps stragglers' partial
// work), so it loads; a fedprox config that says nothing of μ does not.
func TestFedProxWithoutProximalTerm(t *testing.T) {
	c, err := Parse([]byte("scenarios:\n  federated_learning:\n    strategy:\n      name: fedprox\n      proximal_mu: 0\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Scenarios.FederatedLearning.Strategy
	if s.Spec().Kind() != "fedprox" || s.Spec().ProximalMu != 0 || !s.KeepsStragglers() {
		t.Errorf("strategy %+v: spec %+v", s, s.Spec())
	}
	c, err = Parse([]byte("{}"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Scenarios.FederatedLearning.Strategy; s.KeepsStragglers() || s.Spec().ProximalMu != 0 {
		t.Errorf("the default strategy %+v keeps stragglers or carries μ %v", s, s.Spec().ProximalMu)
	}
}

const syntheticYAML = "scenarios:\n  federated_learning:\n    clients_info:\n      total_num_clients: 30\n      num_clients_per_round: 10\n    data_sampling:\n      dataset: synthetic\n"

// A synthetic config needs nothing of MNIST's: the model, the inputs and the split
// default to the synthetic data's.
func TestSyntheticDefaults(t *testing.T) {
	tests := []struct {
		name              string
		yaml              string
		alpha, beta       float64
		iid               bool
		wantModel         string
		wantInput, wantXY int
	}{
		{"synthetic(1,1) by default", syntheticYAML, 1, 1, false, "mclr", 60, 0},
		{"synthetic(0.5,0.5)", syntheticYAML + "      alpha: 0.5\n      beta: 0.5\n", 0.5, 0.5, false, "mclr", 60, 0},
		{"synthetic(0,0)", syntheticYAML + "      alpha: 0\n      beta: 0\n", 0, 0, false, "mclr", 60, 0},
		{"synthetic-iid", syntheticYAML + "      distribution: iid\n", 1, 1, true, "mclr", 60, 0},
		{"the model and inputs named", syntheticYAML + "      model: MCLR\n      input_size: 60\n      output_size: 10\n", 1, 1, false, "mclr", 60, 0},
		{"mnist stays the seed's", "{}", 1, 1, false, "mlp", 784, 28},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			ds := c.Scenarios.FederatedLearning.DataSampling
			if ds.Model != tc.wantModel || ds.InputSize != tc.wantInput || ds.InputShapeX != tc.wantXY || ds.InputShapeY != tc.wantXY {
				t.Errorf("model %q, input %d, shape %dx%d", ds.Model, ds.InputSize, ds.InputShapeX, ds.InputShapeY)
			}
			if ds.Alpha != tc.alpha || ds.Beta != tc.beta || (ds.Distribution == "iid") != tc.iid {
				t.Errorf("alpha %v beta %v distribution %q", ds.Alpha, ds.Beta, ds.Distribution)
			}
		})
	}
}

// Every key a synthetic experiment cannot take is named, in one line, with why.
func TestSyntheticKeyErrors(t *testing.T) {
	const ds = "scenarios.federated_learning.data_sampling."
	tests := []struct {
		name, extra, key, msg string
	}{
		{"the MLP", "      model: mlp\n", ds + "model", "synthetic data take mclr"},
		{"the CNN", "      model: cnn\n", ds + "model", "synthetic data take mclr"},
		{"MNIST's inputs", "      input_size: 784\n", ds + "input_size", "must be 60 for synthetic data"},
		{"an image shape", "      input_shape_x: 28\n      input_shape_y: 28\n", ds + "input_shape_x", "not an image"},
		{"other classes", "      output_size: 2\n", ds + "output_size", "must be 10 for synthetic data"},
		{"dirichlet", "      distribution: dirichlet\n", ds + "distribution", "dirichlet divides MNIST's labels"},
		{"an unknown split", "      distribution: zipf\n", ds + "distribution", "non_iid (Synthetic(α, β)) or iid"},
		{"negative alpha", "      alpha: -1\n", ds + "alpha", "≥ 0 (a standard deviation)"},
		{"infinite beta", "      beta: .inf\n", ds + "beta", "finite number"},
		{"MNIST files", "    training_test_data:\n      train_images_url: file:///x\n", "scenarios.federated_learning.training_test_data", "synthetic data are generated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(syntheticYAML+tc.extra), noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "config: "+tc.key+": ") || !strings.Contains(msg, tc.msg) {
				t.Errorf("got %q, want key %q and %q", msg, tc.key, tc.msg)
			}
		})
	}
	_, err := Parse([]byte("scenarios:\n  federated_learning:\n    data_sampling:\n      model: mclr\n"), noEnv)
	if err == nil || !strings.HasPrefix(err.Error(), "config: "+ds+"model: mclr is the synthetic data's model") {
		t.Errorf("mclr on MNIST: %v", err)
	}
	_, err = Parse([]byte(strings.Replace(syntheticYAML, "dataset: synthetic", "dataset: cifar", 1)), noEnv)
	if err == nil || err.Error() != "config: "+ds+"dataset: must be mnist or synthetic, got \"cifar\"" {
		t.Errorf("unknown dataset: %v", err)
	}
}

func TestStragglers(t *testing.T) {
	base := "scenarios:\n  federated_learning:\n    model_params:\n      local_epochs: %d\n    stragglers:\n      fraction: %v\n%s"
	c, err := Parse([]byte(fmt.Sprintf(base, 20, 0.5, "")), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Scenarios.FederatedLearning.Stragglers.Fraction; got != 0.5 {
		t.Errorf("fraction %v", got)
	}
	const key = "scenarios.federated_learning.stragglers.fraction"
	for _, tc := range []struct {
		name, yaml, msg string
	}{
		{"all of them", fmt.Sprintf(base, 20, 1, ""), "must be in [0, 1), got 1"},
		{"negative", fmt.Sprintf(base, 20, -0.1, ""), "must be in [0, 1)"},
		{"one epoch, none fewer", fmt.Sprintf(base, 1, 0.5, ""), "local_epochs of at least 2"},
		{"semi-asynchronous rounds", fmt.Sprintf(base, 5, 0.5, "    round:\n      mode: semi_async\n"), "round.mode sync only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), noEnv)
			if err == nil || !strings.HasPrefix(err.Error(), "config: "+key+": ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %q", err, tc.msg)
			}
		})
	}
}
