package config

import (
	"maps"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fl/attack"
	"github.com/fedkeeper/fedkeeper/fl/privacy"
	"github.com/fedkeeper/fedkeeper/fl/selection"
	"github.com/fedkeeper/fedkeeper/fl/strategy"
	"github.com/fedkeeper/fedkeeper/fl/synthetic"
)

const fl = "scenarios.federated_learning"

// MaxClientsPerRound keeps a round's workflow history under Temporal's 51,200 events:
// each client's RunClient activity records three events, and its completion may cost a
// workflow task of three more.
const MaxClientsPerRound = 8000

func knownSelection(policy string) bool {
	switch policy {
	case selection.PolicyRandom, SelectAll, SelectFraction, selection.PolicyStragglerAware:
		return true
	}
	return false
}

// perRoundKey is the key that sets the round's size under the selection policy.
func perRoundKey(ci ClientsInfo) string {
	switch ci.Selection {
	case SelectAll:
		return fl + ".clients_info.total_num_clients"
	case SelectFraction:
		return fl + ".clients_info.fraction"
	}
	return fl + ".clients_info.num_clients_per_round"
}

// rule is one check of a value: when bad, the config fails with the key and problem.
type rule struct {
	bad     bool
	key     string
	problem string
	args    []any
}

// firstBroken is the error of the first bad rule, nil if none is.
func firstBroken(rules []rule) error {
	for _, r := range rules {
		if r.bad {
			return keyErr(r.key, r.problem, r.args...)
		}
	}
	return nil
}

// Validate checks the values a loader cannot: ranges, names and cross-references.
// It does not contact any service: a config that names unreachable clusters loads,
// and fails later with a message from the step that needs them.
func (c *Config) Validate() error {
	f := c.Scenarios.FederatedLearning
	ci := f.ClientsInfo
	ds := f.DataSampling
	mp := f.ModelParams

	checks := []rule{
		{ci.TotalNumClients < 1, fl + ".clients_info.total_num_clients", "must be at least 1, got %d", []any{ci.TotalNumClients}},
		{!knownSelection(ci.Selection), fl + ".clients_info.selection", "must be random, all, fraction or straggler_aware, got %q", []any{ci.Selection}},
		{ci.Selection == SelectFraction && !(ci.Fraction > 0 && ci.Fraction <= 1), fl + ".clients_info.fraction", "must be in (0, 1] with selection: fraction, got %v", []any{ci.Fraction}},
		{ci.StragglerTiers < 0, fl + ".clients_info.straggler_tiers", "must not be negative, got %d", []any{ci.StragglerTiers}},
		{ci.PerRound() < 1, perRoundKey(ci), "must be at least 1, got %d", []any{ci.PerRound()}},
		{ci.PerRound() > ci.TotalNumClients, perRoundKey(ci), "%d is more than total_num_clients (%d)", []any{ci.PerRound(), ci.TotalNumClients}},
		{ci.PerRound() > MaxClientsPerRound, perRoundKey(ci), "%d clients per round is more than %d: a round is one Temporal workflow, whose history Temporal caps at 51,200 events, and a client costs its round up to six", []any{ci.PerRound(), MaxClientsPerRound}},
		{ci.EdgeClientsCount < 0, fl + ".clients_info.edge_clients_count", "must not be negative, got %d", []any{ci.EdgeClientsCount}},
		{ci.OWClientsCount < 0, fl + ".clients_info.ow_clients_count", "must not be negative, got %d", []any{ci.OWClientsCount}},
		{ci.GCFClientsCount < 0, fl + ".clients_info.gcf_clients_count", "must not be negative, got %d", []any{ci.GCFClientsCount}},
		{ci.LambdaClientsCount < 0, fl + ".clients_info.lambda_clients_count", "must not be negative, got %d", []any{ci.LambdaClientsCount}},
		{ds.BatchSize < 1, fl + ".data_sampling.batch_size", "must be at least 1, got %d", []any{ds.BatchSize}},
		{ds.HiddenSize < 1, fl + ".data_sampling.hidden_size", "must be at least 1, got %d", []any{ds.HiddenSize}},
		{ds.ShardsPerClient < 1, fl + ".data_sampling.shards_per_client", "must be at least 1, got %d", []any{ds.ShardsPerClient}},
		{ds.ShardSize < 1, fl + ".data_sampling.shard_size", "must be at least 1, got %d", []any{ds.ShardSize}},
		{!(mp.LR > 0), fl + ".model_params.lr", "must be a positive number, got %v", []any{mp.LR}},
		{mp.LocalEpochs < 1, fl + ".model_params.local_epochs", "must be at least 1, got %d", []any{mp.LocalEpochs}},
		{mp.Optim != "adam" && mp.Optim != "nadam" && mp.Optim != "sgd", fl + ".model_params.optim", "must be adam, nadam (the seed's ndam) or sgd, got %q", []any{mp.Optim}},
		{f.Round.MaxAttempts < 1, fl + ".round.max_attempts", "must be at least 1, got %d", []any{f.Round.MaxAttempts}},
		{!(f.Round.MinClientsFraction > 0 && f.Round.MinClientsFraction <= 1), fl + ".round.min_clients_fraction", "must be in (0, 1], got %v", []any{f.Round.MinClientsFraction}},
		{!(f.Round.DeadlineSeconds >= 0), fl + ".round.deadline_seconds", "must not be negative, got %v", []any{f.Round.DeadlineSeconds}},
		{f.Round.MaxInFlight < 0 || f.Round.MaxInFlight > 1900, fl + ".round.max_in_flight", "must be between 1 and 1900 (Temporal allows 2,000 pending activities), or 0 for 1000; got %d", []any{f.Round.MaxInFlight}},
		{f.Round.ClientsPerActivity < 0 || f.Round.ClientsPerActivity > 100, fl + ".round.clients_per_activity", "must be between 1 and 100 (each activity's result holds its clients' records), or 0 for a tenth of the round; got %d", []any{f.Round.ClientsPerActivity}},
		{f.Round.MaxRecordedRuns < 0 || f.Round.MaxRecordedRuns > 4000, fl + ".round.max_recorded_runs", "must be between 1 and 4000 (Temporal caps a result at 2 MB), or 0 for 1000; got %d", []any{f.Round.MaxRecordedRuns}},
		{f.Round.LateUpdates != "drop" && f.Round.LateUpdates != "accept", fl + ".round.late_updates", "must be drop or accept, got %q", []any{f.Round.LateUpdates}},
		{f.Round.Mode != ModeSync && f.Round.Mode != ModeSemiAsync, fl + ".round.mode", "must be sync or semi_async, got %q", []any{f.Round.Mode}},
		{f.Round.MinUpdates < 0 || f.Round.MinUpdates > ci.PerRound(), fl + ".round.min_updates", "must be between 1 and the clients per round (%d), or 0 for half of them; got %d", []any{ci.PerRound(), f.Round.MinUpdates}},
		{!(f.Round.StalenessExponent >= 0) || math.IsInf(f.Round.StalenessExponent, 0), fl + ".round.staleness_exponent", "must be a number ≥ 0, got %v", []any{f.Round.StalenessExponent}},
		{f.Round.MaxStaleness < 1, fl + ".round.max_staleness", "must be at least 1 version, got %d", []any{f.Round.MaxStaleness}},
		{!(c.Stop.TargetAccuracy >= 0 && c.Stop.TargetAccuracy <= 1), "stop.target_accuracy", "must be between 0 and 1, got %v", []any{c.Stop.TargetAccuracy}},
		{c.Stop.MaxRounds < 1, "stop.max_rounds", "must be at least 1, got %d", []any{c.Stop.MaxRounds}},
		{c.Temporal.Namespace == "", "temporal.namespace", "must not be empty", nil},
		{c.Temporal.TaskQueue == "", "temporal.task_queue", "must not be empty", nil},
		{c.Temporal.UIPort < -1 || c.Temporal.UIPort > 65535, "temporal.ui_port", "must be a port number (or -1 to disable the UI), got %d", []any{c.Temporal.UIPort}},
		{c.Temporal.FrontendPort < 0 || c.Temporal.FrontendPort > 65535, "temporal.frontend_port", "must be a port number, got %d", []any{c.Temporal.FrontendPort}},
		{c.Name == "", "name", "must not be empty", nil},
		{strings.ContainsAny(c.Name, "/ \t\n"), "name", "must not contain slashes or spaces, got %q", []any{c.Name}},
		{f.MongoConfig.DB == "", fl + ".mongo_config.db", "must not be empty", nil},
		{f.MongoConfig.Collection == "", fl + ".mongo_config.collection", "must not be empty", nil},
		{c.ResultsDir == "", "results_dir", "must not be empty", nil},
		{c.DataDir == "", "data_dir", "must not be empty", nil},
	}
	if err := firstBroken(checks); err != nil {
		return err
	}
	if err := validateData(f); err != nil {
		return err
	}
	if err := validateStragglers(f); err != nil {
		return err
	}
	if err := validatePricing(c.Pricing); err != nil {
		return err
	}

	if f.Strategy.Name == strategy.FedProx && f.Strategy.ProximalMu < 0 {
		return keyErr(fl+".strategy.proximal_mu", "is required for fedprox: μ ≥ 0 (0 is FedProx without its proximal term, which still counts stragglers' partial work)")
	}
	if err := f.Strategy.Spec().Validate(); err != nil {
		return keyErr(fl+".strategy", "%s", strings.TrimPrefix(err.Error(), "strategy: "))
	}
	if k := f.Strategy.Name; (k == strategy.Krum || k == strategy.MultiKrumName) && ci.PerRound() <= 2*f.Strategy.Byzantine+2 {
		return keyErr(fl+".strategy.byzantine", "%s tolerating %d malicious clients needs more than %d clients per round, got %d",
			k, f.Strategy.Byzantine, 2*f.Strategy.Byzantine+2, ci.PerRound())
	}
	if pr := f.Privacy; pr.Clip != 0 {
		if err := (privacy.Mechanism{Clip: pr.Clip, NoiseMultiplier: pr.NoiseMultiplier}).Validate(); err != nil {
			return keyErr(fl+".privacy", "%s", strings.TrimPrefix(err.Error(), "privacy: "))
		}
		if !(pr.Delta > 0 && pr.Delta < 1) {
			return keyErr(fl+".privacy.delta", "must be in (0, 1), got %v", pr.Delta)
		}
		if pr.NoiseMultiplier == 0 {
			return keyErr(fl+".privacy.noise_multiplier", "must be positive with clip set: clipping alone gives no privacy guarantee (ε would be infinite)")
		}
	}
	if err := (attack.Spec{Kind: f.Attack.Kind, Fraction: f.Attack.Fraction, Factor: f.Attack.Factor}).Validate(); err != nil {
		return keyErr(fl+".attack", "%s", strings.TrimPrefix(err.Error(), "attack: "))
	}
	if d, err := time.ParseDuration(c.Worker.StopTimeout); err != nil || d < 0 {
		return keyErr("worker.stop_timeout", "must be a duration like 30s, got %q", c.Worker.StopTimeout)
	}
	if c.Worker.MaxConcurrentActivities < 0 {
		return keyErr("worker.max_concurrent_activities", "must not be negative, got %d", c.Worker.MaxConcurrentActivities)
	}
	if f := c.SeedLog.Format; f != Off && f != SeedLogAccuracyTime && f != SeedLogTrainingTime {
		return keyErr("seed_log.format", "must be %s, %s or %s, got %q", Off, SeedLogAccuracyTime, SeedLogTrainingTime, f)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return keyErr("log.format", "must be text or json, got %q", c.Log.Format)
	}
	if l := c.Metrics.Listen; l != MetricsOff {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return keyErr("metrics.listen", "must be host:port or %q, got %q", MetricsOff, l)
		}
	}
	if l := c.Dashboard.Listen; l != MetricsOff {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return keyErr("dashboard.listen", "must be host:port or %q, got %q", MetricsOff, l)
		}
	}
	if u := c.Temporal.WebUIURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return keyErr("temporal.web_ui_url", "must be an http:// or https:// URL, got %q", u)
	}
	if hp := c.Temporal.HostPort; !IsEmbedded(hp) {
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return keyErr("temporal.host_port", "must be host:port or %q, got %q", Embedded, hp)
		}
	}
	if t := c.Temporal.TLS; (t.CertFile == "") != (t.KeyFile == "") {
		return keyErr("temporal.tls.cert_file", "cert_file and key_file go together (mutual TLS needs both)")
	}
	if c.Temporal.TLS.On() && c.Temporal.Plaintext {
		return keyErr("temporal.plaintext", "contradicts temporal.tls: a connection is either TLS or plaintext")
	}

	if placed := ci.EdgeClientsCount + ci.OWClientsCount + ci.GCFClientsCount + ci.LambdaClientsCount; placed != 0 && placed != ci.TotalNumClients {
		return keyErr(fl+".clients_info", "edge_clients_count + ow_clients_count + gcf_clients_count + lambda_clients_count = %d, but total_num_clients is %d", placed, ci.TotalNumClients)
	}
	if ci.OWClientsCount > 0 && len(c.Providers.OpenWhisk) == 0 {
		return keyErr("providers.openwhisk", "ow_clients_count is %d but no OpenWhisk cluster is configured", ci.OWClientsCount)
	}
	if ci.GCFClientsCount > 0 && len(c.Providers.Google) == 0 {
		return keyErr("providers.google", "gcf_clients_count is %d but no Google Cloud Functions cluster is configured", ci.GCFClientsCount)
	}
	if ci.EdgeClientsCount > 0 && len(c.Providers.OpenFaaS) == 0 {
		return keyErr("providers.openfaas", "edge_clients_count is %d but no OpenFaaS gateway is configured", ci.EdgeClientsCount)
	}
	if ci.LambdaClientsCount > 0 && len(c.Providers.AWS) == 0 {
		return keyErr("providers.aws", "lambda_clients_count is %d but no AWS Lambda cluster is configured", ci.LambdaClientsCount)
	}

	for key, mode := range map[string]string{"initialisation": f.ServerConfig.Initialisation, "aggregation": f.ServerConfig.Aggregation} {
		if mode != ServerActivity && mode != ServerFunction {
			return keyErr(fl+".server_config."+key, "must be %s or %s, got %q", ServerActivity, ServerFunction, mode)
		}
		if mode == ServerFunction && f.ServerConfig.ServerClusterName == "" {
			return keyErr(fl+".server_config.server_cluster_name", "is needed to run the %s as a function", key)
		}
	}
	if name := f.ServerConfig.ServerClusterName; name != "" {
		_, ow := c.Providers.OpenWhisk[name]
		_, g := c.Providers.Google[name]
		if !ow && !g {
			return keyErr(fl+".server_config.server_cluster_name", "no cluster named %q under providers (have %s)", name, strings.Join(c.ClusterNames(), ", "))
		}
	}
	for _, fn := range ci.ClientFunctions {
		if _, ok := f.Functions[fn]; !ok {
			return keyErr(fl+".clients_info.client_functions", "function %q is not described under %s.functions", fn, fl)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Providers.OpenWhisk)) {
		cluster := c.Providers.OpenWhisk[name]
		key := "providers.openwhisk." + name
		if !IsEmbedded(cluster.Auth.OWAPIHost) && cluster.Auth.OWAuth == "" {
			return keyErr(key+".auth.ow_auth", "is missing: the cluster at %s needs its uuid:key (or set FEDKEEPER_PROVIDERS_OPENWHISK_%s_AUTH_OW_AUTH)", cluster.Auth.OWAPIHost, strings.ToUpper(name))
		}
		if auth := cluster.Auth.OWAuth; auth != "" && !IsEmbedded(cluster.Auth.OWAPIHost) && !strings.Contains(auth, ":") && !strings.Contains(auth, "<") {
			return keyErr(key+".auth.ow_auth", "must be uuid:key")
		}
	}
	fabrics := map[string]FabricConfiguration{}
	for name, cl := range c.Providers.OpenWhisk {
		fabrics["providers.openwhisk."+name+".fabric"] = cl.Fabric
	}
	for name, cl := range c.Providers.Google {
		fabrics["providers.google."+name+".fabric"] = cl.Fabric
	}
	for name, cl := range c.Providers.OpenFaaS {
		fabrics["providers.openfaas."+name+".fabric"] = cl.Fabric
	}
	for name, cl := range c.Providers.AWS {
		fabrics["providers.aws."+name+".fabric"] = cl.Fabric
	}
	for _, key := range slices.Sorted(maps.Keys(fabrics)) {
		fab := fabrics[key]
		if fab.Port < 0 || fab.Port > 65535 {
			return keyErr(key+".port", "must be a port number, got %d", fab.Port)
		}
		if fab.MaxContainers < 0 {
			return keyErr(key+".max_containers", "must not be negative, got %d", fab.MaxContainers)
		}
		if fab.Python != "" && !filepath.IsAbs(fab.Python) {
			return keyErr(key+".python", "must be an absolute path to a Python interpreter (such as /usr/bin/python3), got %q", fab.Python)
		}
		if err := fab.Faults.Check(); err != nil {
			return keyErr(key+".faults", "%v", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Providers.Google)) {
		g := c.Providers.Google[name]
		if !g.Embedded() {
			if project, region := g.ProjectAndRegion(); project == "" || region == "" {
				return keyErr("providers.google."+name+".project", "is missing: a real Cloud Functions cluster needs project and region (or a base_url https://REGION-PROJECT.cloudfunctions.net/)")
			}
		}
		if ep := g.APIEndpoint; ep != "" && ep != Embedded && !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			return keyErr("providers.google."+name+".api_endpoint", "must be an http(s) URL or %q, got %q", Embedded, ep)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Providers.OpenFaaS)) {
		o := c.Providers.OpenFaaS[name]
		if gw := o.Gateway; !IsEmbedded(gw) && !strings.HasPrefix(gw, "http://") && !strings.HasPrefix(gw, "https://") {
			return keyErr("providers.openfaas."+name+".gateway", "must be an http(s) URL or %q, got %q", Embedded, gw)
		}
	}
	if err := c.validateAWS(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(f.Functions)) {
		if g := f.Functions[name].Google; g != nil {
			key := fl + ".functions." + name + ".google"
			if _, err := g.MemoryMB(); err != nil {
				return keyErr(key+".memory", "%v", err)
			}
			if _, err := g.TimeoutDuration(); err != nil {
				return keyErr(key+".timeout", "%v", err)
			}
		}
		if of := f.Functions[name].OpenFaaS; of != nil {
			if _, err := of.TimeoutDuration(); err != nil {
				return keyErr(fl+".functions."+name+".openfaas.timeout", "%v", err)
			}
		}
		if ow := f.Functions[name].OpenWhisk; ow != nil {
			key := fl + ".functions." + name + ".openwhisk"
			if ow.Memory < 0 {
				return keyErr(key+".memory", "must be positive MB, got %d", ow.Memory)
			}
			if ow.Timeout < 0 {
				return keyErr(key+".timeout", "must be positive milliseconds, got %d", ow.Timeout)
			}
			if ow.Web != "" && ow.Web != "true" && ow.Web != "raw" && ow.Web != "false" {
				return keyErr(key+".web", "must be true, raw or false, got %q", ow.Web)
			}
		}
	}
	return c.validateClientSections()
}

// clientCountKey is the clients_info count that places clients on a platform.
func clientCountKey(p Platform) string {
	switch p {
	case OpenWhisk:
		return "ow_clients_count"
	case Google:
		return "gcf_clients_count"
	case OpenFaaS:
		return "edge_clients_count"
	case AWS:
		return "lambda_clients_count"
	}
	return string(p) + "_clients_count"
}

// ClusterNames lists every configured cluster, OpenWhisk first, each sorted.
func (c *Config) ClusterNames() []string {
	return slices.Concat(slices.Sorted(maps.Keys(c.Providers.OpenWhisk)), slices.Sorted(maps.Keys(c.Providers.Google)),
		slices.Sorted(maps.Keys(c.Providers.OpenFaaS)), slices.Sorted(maps.Keys(c.Providers.AWS)))
}

// validateClientSections checks that every client function has a section for each
// platform its clients are placed on, the deployment it gets there.
func (c *Config) validateClientSections() error {
	const fl = "scenarios.federated_learning"
	functions := c.Scenarios.FederatedLearning.Functions
	for _, p := range c.ClientPlacements() {
		if p.Cluster == "" {
			key := clientCountKey(p.Platform)
			return keyErr(fl+".clients_info."+key, "places clients on %s, but providers has no %s cluster", p.Platform, p.Platform)
		}
		fn := functions[p.Function]
		has := map[Platform]bool{OpenWhisk: fn.OpenWhisk != nil, Google: fn.Google != nil, OpenFaaS: fn.OpenFaaS != nil, AWS: fn.AWS != nil}[p.Platform]
		if !has {
			return keyErr(fl+".functions."+p.Function+"."+string(p.Platform), "is missing: clients of function %q run on %s (clients_info's counts and client_functions place them there)", p.Function, p.Platform)
		}
	}
	return nil
}

// validateData checks the dataset and the keys whose meaning depends on it: the model,
// the inputs and outputs, the split.
func validateData(f FederatedLearning) error {
	ds := f.DataSampling
	const key = fl + ".data_sampling."
	if ds.Model != "mlp" && ds.Model != "cnn" && ds.Model != "mclr" {
		return keyErr(key+"model", "must be mlp (the seed's mnistnn), cnn or mclr (synthetic data), got %q", ds.Model)
	}
	switch ds.Dataset {
	case DatasetMNIST:
		return firstBroken([]rule{
			{ds.Model == "mclr", key + "model", "mclr is the synthetic data's model (60 features); MNIST takes mlp or cnn", nil},
			{ds.InputSize != 784, key + "input_size", "must be 784 (28x28 MNIST images), got %d", []any{ds.InputSize}},
			{ds.InputShapeX != 28 || ds.InputShapeY != 28, key + "input_shape_x", "input_shape_x and input_shape_y must be 28 for MNIST, got %dx%d", []any{ds.InputShapeX, ds.InputShapeY}},
			{ds.OutputSize != 10, key + "output_size", "must be 10 (MNIST digits), got %d", []any{ds.OutputSize}},
			{ds.Distribution != "non_iid" && ds.Distribution != "iid" && ds.Distribution != "dirichlet", key + "distribution", "must be non_iid, iid or dirichlet, got %q", []any{ds.Distribution}},
			{ds.Distribution == "dirichlet" && !(ds.DirichletAlpha > 0), key + "dirichlet_alpha", "must be positive, got %v", []any{ds.DirichletAlpha}},
		})
	case DatasetSynthetic:
		return validateSynthetic(f)
	}
	return keyErr(key+"dataset", "must be mnist or synthetic, got %q", ds.Dataset)
}

// validateSynthetic checks a synthetic experiment: the generator's shape, its
// parameters, one device per client, and no MNIST files.
func validateSynthetic(f FederatedLearning) error {
	ds := f.DataSampling
	const key = fl + ".data_sampling."
	finite := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }
	return firstBroken([]rule{
		{ds.Model != "mclr", key + "model", "synthetic data take mclr (multinomial logistic regression, 60 features to 10 classes), got %q", []any{ds.Model}},
		{ds.InputSize != synthetic.Features, key + "input_size", "must be %d for synthetic data (its features), got %d", []any{synthetic.Features, ds.InputSize}},
		{ds.InputShapeX != 0 || ds.InputShapeY != 0, key + "input_shape_x", "synthetic data are %d features, not an image: leave input_shape_x and input_shape_y out, got %dx%d", []any{synthetic.Features, ds.InputShapeX, ds.InputShapeY}},
		{ds.OutputSize != synthetic.Classes, key + "output_size", "must be %d for synthetic data (its classes), got %d", []any{synthetic.Classes, ds.OutputSize}},
		{ds.Distribution == "dirichlet", key + "distribution", "dirichlet divides MNIST's labels; synthetic data are non_iid (Synthetic(α, β)) or iid (Synthetic-IID)", nil},
		{ds.Distribution != "non_iid" && ds.Distribution != "iid", key + "distribution", "must be non_iid (Synthetic(α, β)) or iid (Synthetic-IID) for synthetic data, got %q", []any{ds.Distribution}},
		{!finite(ds.Alpha), key + "alpha", "must be a finite number ≥ 0 (a standard deviation), got %v", []any{ds.Alpha}},
		{!finite(ds.Beta), key + "beta", "must be a finite number ≥ 0 (a standard deviation), got %v", []any{ds.Beta}},
		{f.ClientsInfo.TotalNumClients > synthetic.MaxDevices, fl + ".clients_info.total_num_clients", "is the number of synthetic devices, at most %d, got %d", []any{synthetic.MaxDevices, f.ClientsInfo.TotalNumClients}},
		{f.TrainingTestData != TrainingTestData{}, fl + ".training_test_data", "names MNIST's files; synthetic data are generated from the seed, leave it out", nil},
	})
}

// validateStragglers checks the simulated stragglers: a share of each round's clients
// that a synchronous round gives fewer epochs.
func validateStragglers(f FederatedLearning) error {
	s := f.Stragglers.Fraction
	const key = fl + ".stragglers.fraction"
	return firstBroken([]rule{
		{!(s >= 0 && s < 1), key, "must be in [0, 1), got %v", []any{s}},
		{s > 0 && f.ModelParams.LocalEpochs < 2, key, "needs model_params.local_epochs of at least 2 (a straggler runs 1 to local_epochs−1 epochs), got %d", []any{f.ModelParams.LocalEpochs}},
		{s > 0 && f.Round.Mode != ModeSync, key, "works with round.mode sync only, got %q", []any{f.Round.Mode}},
	})
}
