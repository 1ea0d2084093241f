package config

import (
	"path/filepath"
	"strings"

	"github.com/spf13/viper"
)

// Defaults of the keys a config may leave out. Registering them also makes the keys
// known, so environment variables can set them even when the file does not mention them.
func registerDefaults(v *viper.Viper) {
	defaults := map[string]any{
		"version":                          "0.1",
		"name":                             "fedkeeper",
		"temporal.host_port":               Embedded,
		"temporal.namespace":               "default",
		"temporal.task_queue":              "fedkeeper",
		"temporal.ui_port":                 0,
		"temporal.frontend_port":           0,
		"temporal.api_key":                 "",
		"temporal.plaintext":               false,
		"temporal.tls.enabled":             false,
		"temporal.tls.ca_file":             "",
		"temporal.tls.cert_file":           "",
		"temporal.tls.key_file":            "",
		"temporal.tls.server_name":         "",
		"stop.target_accuracy":             0.0,
		"stop.max_rounds":                  50,
		"results_dir":                      "results",
		"data_dir":                         ".fedkeeper",
		"seed":                             1,
		"log.level":                        "info",
		"log.format":                       "text",
		"metrics.listen":                   "127.0.0.1:9464",
		"dashboard.listen":                 "127.0.0.1:8234",
		"temporal.web_ui_url":              "",
		"metrics.token":                    "",
		"security.token_key":               "",
		"worker.stop_timeout":              "30s",
		"worker.max_concurrent_activities": 0,
		"seed_log.format":                  Off,
		"seed_log.path":                    "",
		"scenarios.federated_learning.server_config.server_cluster_name":   "",
		"scenarios.federated_learning.server_config.initialisation":        ServerActivity,
		"scenarios.federated_learning.server_config.aggregation":           ServerActivity,
		"scenarios.federated_learning.clients_info.total_num_clients":      10,
		"scenarios.federated_learning.clients_info.num_clients_per_round":  10,
		"scenarios.federated_learning.clients_info.edge_clients_count":     0,
		"scenarios.federated_learning.clients_info.ow_clients_count":       0,
		"scenarios.federated_learning.clients_info.gcf_clients_count":      0,
		"scenarios.federated_learning.clients_info.lambda_clients_count":   0,
		"scenarios.federated_learning.clients_info.selection":              "random",
		"scenarios.federated_learning.clients_info.fraction":               0.0,
		"scenarios.federated_learning.clients_info.straggler_tiers":        0,
		"scenarios.federated_learning.data_sampling.dataset":               DatasetMNIST,
		"scenarios.federated_learning.data_sampling.alpha":                 1.0,
		"scenarios.federated_learning.data_sampling.beta":                  1.0,
		"scenarios.federated_learning.data_sampling.input_size":            0, // by dataset (normalise)
		"scenarios.federated_learning.data_sampling.hidden_size":           500,
		"scenarios.federated_learning.data_sampling.output_size":           10,
		"scenarios.federated_learning.data_sampling.input_shape_x":         0,
		"scenarios.federated_learning.data_sampling.input_shape_y":         0,
		"scenarios.federated_learning.data_sampling.batch_size":            10,
		"scenarios.federated_learning.data_sampling.model":                 "",
		"scenarios.federated_learning.data_sampling.distribution":          "non_iid",
		"scenarios.federated_learning.data_sampling.shards_per_client":     2,
		"scenarios.federated_learning.data_sampling.shard_size":            300,
		"scenarios.federated_learning.data_sampling.dirichlet_alpha":       0.5,
		"scenarios.federated_learning.strategy.name":                       "fedavg",
		"scenarios.federated_learning.strategy.server_lr":                  0.0,
		"scenarios.federated_learning.strategy.beta1":                      0.0,
		"scenarios.federated_learning.strategy.beta2":                      0.0,
		"scenarios.federated_learning.strategy.tau":                        0.0,
		"scenarios.federated_learning.strategy.proximal_mu":                -1.0, // unset
		"scenarios.federated_learning.strategy.trim_beta":                  0.1,
		"scenarios.federated_learning.strategy.byzantine":                  0,
		"scenarios.federated_learning.strategy.selected":                   0,
		"scenarios.federated_learning.privacy.clip":                        0.0,
		"scenarios.federated_learning.privacy.noise_multiplier":            1.0,
		"scenarios.federated_learning.privacy.delta":                       1e-5,
		"scenarios.federated_learning.stragglers.fraction":                 0.0,
		"scenarios.federated_learning.attack.kind":                         "",
		"scenarios.federated_learning.attack.fraction":                     0.0,
		"scenarios.federated_learning.attack.factor":                       -10.0,
		"scenarios.federated_learning.mongo_config.url":                    Embedded,
		"scenarios.federated_learning.mongo_config.db":                     "flweights",
		"scenarios.federated_learning.mongo_config.collection":             "mnist_weights",
		"scenarios.federated_learning.mongo_config.tensor_dir":             "",
		"scenarios.federated_learning.training_test_data.train_images_url": "",
		"scenarios.federated_learning.training_test_data.train_labels_url": "",
		"scenarios.federated_learning.training_test_data.test_images_url":  "",
		"scenarios.federated_learning.training_test_data.test_labels_url":  "",
		"scenarios.federated_learning.model_params.lr":                     1e-3,
		"scenarios.federated_learning.model_params.optim":                  "adam",
		"scenarios.federated_learning.model_params.local_epochs":           1,
		"scenarios.federated_learning.round.max_attempts":                  3,
		"scenarios.federated_learning.round.min_clients_fraction":          0.5,
		"scenarios.federated_learning.round.deadline_seconds":              0.0,
		"scenarios.federated_learning.round.late_updates":                  "drop",
		"scenarios.federated_learning.round.max_in_flight":                 0,
		"scenarios.federated_learning.round.clients_per_activity":          0,
		"scenarios.federated_learning.round.fold_updates":                  true,
		"scenarios.federated_learning.round.max_recorded_runs":             0,
		"scenarios.federated_learning.round.mode":                          ModeSync,
		"scenarios.federated_learning.round.min_updates":                   0,
		"scenarios.federated_learning.round.staleness_exponent":            0.5,
		"scenarios.federated_learning.round.max_staleness":                 5,
	}
	for key, value := range defaults {
		v.SetDefault(key, value)
	}
	for key, value := range pricingDefaults() {
		v.SetDefault(key, value)
	}
}

// DefaultClientFunction is the client function used when the config names none.
const DefaultClientFunction = "fl_client"

// normalise fills in what defaults cannot express and canonicalises spellings.
func (c *Config) normalise() {
	fl := &c.Scenarios.FederatedLearning
	ds := &fl.DataSampling
	ds.Model = canonical(ds.Model, modelAliases)
	ds.Distribution = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(ds.Distribution), "-", "_"))
	ds.Dataset = strings.ToLower(strings.TrimSpace(ds.Dataset))
	ds.fillByDataset()
	fl.ModelParams.Optim = canonical(fl.ModelParams.Optim, optimAliases)
	fl.Strategy.Name = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fl.Strategy.Name), "-", "_"))
	if c.SeedLog.Format = strings.ToLower(strings.TrimSpace(c.SeedLog.Format)); c.SeedLog.Format == "" {
		c.SeedLog.Format = Off
	}

	if u := strings.TrimSpace(fl.MongoConfig.URL); u != "" && u != Embedded &&
		!strings.HasPrefix(u, "mongodb://") && !strings.HasPrefix(u, "mongodb+srv://") {
		// The seed wrote a bare host:port.
		fl.MongoConfig.URL = "mongodb://" + u
	}
	if d := strings.TrimSpace(fl.MongoConfig.TensorDir); d != "" && d != Off && !filepath.IsAbs(d) {
		// Functions run in folders of their own; they need the path the keeper means.
		if abs, err := filepath.Abs(d); err == nil {
			fl.MongoConfig.TensorDir = abs
		}
	}

	if len(c.Providers.OpenWhisk) == 0 && len(c.Providers.Google) == 0 && len(c.Providers.OpenFaaS) == 0 && len(c.Providers.AWS) == 0 {
		c.Providers.OpenWhisk = map[string]OpenWhiskCluster{"local": {}}
	}
	for name, cluster := range c.Providers.OpenWhisk {
		if cluster.Namespace == "" {
			cluster.Namespace = namespaceFromBaseURL(cluster.BaseURL)
		}
		c.Providers.OpenWhisk[name] = cluster
	}

	if len(fl.ClientsInfo.ClientFunctions) == 0 {
		fl.ClientsInfo.ClientFunctions = []string{DefaultClientFunction}
	}
	if fl.Functions == nil {
		fl.Functions = map[string]Function{}
	}
	if client, ok := fl.Functions[DefaultClientFunction]; fl.ClientsInfo.ClientFunctions[0] == DefaultClientFunction {
		// The built-in client function gets a section for every platform its clients
		// run on; a config that names its own function describes it itself.
		if !ok || client.OpenWhisk == nil {
			client.OpenWhisk = &OpenWhiskFunction{}
		}
		ci, all := fl.ClientsInfo, c.defaultPlatform()
		if client.Google == nil && (ci.GCFClientsCount > 0 || all == Google) {
			client.Google = &GoogleFunction{}
		}
		if client.OpenFaaS == nil && (ci.EdgeClientsCount > 0 || all == OpenFaaS) {
			client.OpenFaaS = &OpenFaaSFunction{}
		}
		if client.AWS == nil && (ci.LambdaClientsCount > 0 || all == AWS) {
			client.AWS = &AWSFunction{}
		}
		fl.Functions[DefaultClientFunction] = client
	}
	sc := &fl.ServerConfig
	sc.Initialisation = strings.ToLower(strings.TrimSpace(sc.Initialisation))
	sc.Aggregation = strings.ToLower(strings.TrimSpace(sc.Aggregation))
	for fn, mode := range map[string]string{"fl_server_init": sc.Initialisation, "fl_server_aggregator": sc.Aggregation} {
		if mode != ServerFunction {
			continue
		}
		// A server step that runs as a function is one of the server's functions, and
		// the built-in one needs no description beyond its platform's defaults.
		if !contains(sc.ServerManagerFunctions, fn) {
			sc.ServerManagerFunctions = append(sc.ServerManagerFunctions, fn)
		}
		if _, ok := fl.Functions[fn]; !ok {
			switch c.PlatformOf(sc.ServerClusterName) {
			case OpenWhisk:
				fl.Functions[fn] = Function{OpenWhisk: &OpenWhiskFunction{}}
			case Google:
				fl.Functions[fn] = Function{Google: &GoogleFunction{}}
			case OpenFaaS:
				fl.Functions[fn] = Function{OpenFaaS: &OpenFaaSFunction{}}
			case AWS:
				fl.Functions[fn] = Function{AWS: &AWSFunction{}}
			}
		}
	}
	for name, fn := range fl.Functions {
		builtIn := name == DefaultClientFunction || name == "nodeinfo" || name == "fl_server_init" ||
			name == "fl_server_aggregator" || name == "fl_invoker_weights_update"
		if g := fn.Google; g != nil {
			if g.FuncPath == "" && builtIn {
				g.FuncPath = "./functions/gcf"
			}
			if g.EntryPoint == "" {
				g.EntryPoint = name
			}
			if g.Memory == "" {
				g.Memory = "512MB"
			}
			if g.Timeout == "" {
				g.Timeout = "300s"
			}
		}
		if a := fn.AWS; a != nil {
			if a.FuncPath == "" && builtIn {
				a.FuncPath = "./functions/lambda"
			}
			if a.Memory == 0 {
				a.Memory = 512
			}
			if a.Timeout == "" {
				a.Timeout = "300s"
			}
		}
		if of := fn.OpenFaaS; of != nil {
			if of.FuncPath == "" && builtIn {
				of.FuncPath = "./functions/openfaas"
			}
			if of.Timeout == "" {
				of.Timeout = "300s"
			}
		}
		if ow := fn.OpenWhisk; ow != nil {
			if ow.FuncPath == "" && builtIn {
				ow.FuncPath = "./functions/openwhisk"
			}
			if ow.Memory == 0 {
				ow.Memory = 256
			}
			if ow.Timeout == 0 {
				ow.Timeout = 300000
			}
			if ow.Concurrency == 0 {
				ow.Concurrency = 1
			}
		}
	}
}

// fillByDataset fills in the model and input keys a config left out with the dataset's
// own: MNIST's MLP over 28x28 images, or the synthetic data's multinomial logistic
// regression over 60 features.
func (ds *DataSampling) fillByDataset() {
	model, inputs, side := "mlp", 784, 28
	if ds.Synthetic() {
		model, inputs, side = "mclr", 60, 0
	}
	if ds.Model == "" {
		ds.Model = model
	}
	if ds.InputSize == 0 {
		ds.InputSize = inputs
	}
	if ds.InputShapeX == 0 && ds.InputShapeY == 0 {
		ds.InputShapeX, ds.InputShapeY = side, side
	}
}

// The seed's spellings of model and optimiser names. Its functions compared the names
// exactly: the MLP ran only as "mnistnn" (its logs and file names call it "nn"), and
// Nadam only as "ndam" (Keras's tf.keras.optimizers.Nadam behind it).
func modelAliases(name string) string {
	switch name {
	case "mnistnn", "nn":
		return "mlp"
	}
	return name
}

func optimAliases(name string) string {
	if name == "ndam" {
		return "nadam"
	}
	return name
}

// canonical lower-cases a name and maps the seed's spelling of it to FedKeeper's.
func canonical(name string, alias func(string) string) string {
	return alias(strings.ToLower(strings.TrimSpace(name)))
}

// namespaceFromBaseURL reads the namespace out of the seed's base_url
// (…/api/v1/namespaces/<ns>/actions/), defaulting to "_", OpenWhisk's "my namespace".
func namespaceFromBaseURL(baseURL string) string {
	_, rest, ok := strings.Cut(baseURL, "/namespaces/")
	if !ok {
		return "_"
	}
	ns, _, _ := strings.Cut(rest, "/")
	if ns == "" {
		return "_"
	}
	return ns
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
