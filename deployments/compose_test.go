// Package deployments checks the container deployment (docker-compose.yml at the
// repository root, the Dockerfile, the containers' config and Prometheus's) without
// starting containers: the compose file is loaded as Docker Compose loads it
// (compose-go), and its services, ports, dependencies, health checks and environment
// are compared with the config the FedKeeper containers read.
package deployments

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/fedkeeper/fedkeeper/config"
)

// secrets are the variables the compose file demands.
var secrets = map[string]string{
	"POSTGRES_PASSWORD": "pg-secret",
	"MONGO_PASSWORD":    "mongo-secret",
	"METRICS_TOKEN":     "metrics-secret",
	"TOKEN_KEY":         "token-key-secret",
	"OW_AUTH":           "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:fabric-secret",
}

func loadProject(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{"../docker-compose.yml"},
		cli.WithWorkingDirectory(".."), cli.WithEnv(list), cli.WithDiscardEnvFile,
		cli.WithProfiles([]string{"*"}))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

func env(s types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func TestComposeNeedsItsSecrets(t *testing.T) {
	for name := range secrets {
		partial := map[string]string{}
		for k, v := range secrets {
			if k != name {
				partial[k] = v
			}
		}
		_, err := loadProject(t, partial)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loaded without %s: %v", name, err)
		}
	}
}

func TestComposeServices(t *testing.T) {
	p, err := loadProject(t, secrets)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"postgresql", "temporal", "temporal-ui", "mongodb", "worker", "starter", "fabric", "prometheus"}
	if got := p.ServiceNames(); !sameSet(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	// Optional parts stay out of a plain `docker compose up`.
	for name, profile := range map[string]string{"starter": "run", "fabric": "fabric", "prometheus": "monitoring"} {
		if s := service(t, p, name); !slices.Contains(s.Profiles, profile) {
			t.Errorf("%s is in profiles %v, want %q", name, s.Profiles, profile)
		}
	}
	for _, name := range []string{"postgresql", "temporal", "temporal-ui", "mongodb", "worker"} {
		if s := service(t, p, name); len(s.Profiles) != 0 {
			t.Errorf("%s needs a profile (%v); it belongs to every deployment", name, s.Profiles)
		}
	}

	// Each dependency waits for health where the dependency has a health check, and the
	// dependencies form the order Temporal's schema setup and the workers need.
	deps := map[string]map[string]string{
		"temporal":    {"postgresql": types.ServiceConditionHealthy},
		"temporal-ui": {"temporal": types.ServiceConditionHealthy},
		"worker":      {"temporal": types.ServiceConditionHealthy, "mongodb": types.ServiceConditionHealthy},
		"starter":     {"worker": types.ServiceConditionHealthy},
	}
	for name, wantDeps := range deps {
		s := service(t, p, name)
		for dep, cond := range wantDeps {
			got, ok := s.DependsOn[dep]
			if !ok || got.Condition != cond {
				t.Errorf("%s depends on %s with %+v, want condition %s", name, dep, got, cond)
			}
		}
	}
	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionHealthy {
				if hc := service(t, p, dep).HealthCheck; hc == nil || hc.Disable || len(hc.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, which has no health check", s.Name, dep)
				}
			}
		}
	}

	// Published ports listen on loopback only.
	published := map[string]uint32{"temporal": 7233, "temporal-ui": 8080, "fabric": 3233, "prometheus": 9090, "starter": 8234}
	for _, s := range p.Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %d on %q, want 127.0.0.1", s.Name, port.Target, port.HostIP)
			}
		}
		if want, ok := published[s.Name]; ok && (len(s.Ports) != 1 || s.Ports[0].Target != want) {
			t.Errorf("%s publishes %+v, want container port %d", s.Name, s.Ports, want)
		}
		if _, ok := published[s.Name]; !ok && len(s.Ports) != 0 {
			t.Errorf("%s publishes %+v; only %v should", s.Name, s.Ports, published)
		}
	}

	// Secrets reach the services that use them and appear nowhere in the file itself.
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range secrets {
		if strings.Contains(string(raw), value) {
			t.Errorf("the compose file holds the value of %s", name)
		}
	}
	if got := env(service(t, p, "postgresql"))["POSTGRES_PASSWORD"]; got != secrets["POSTGRES_PASSWORD"] {
		t.Errorf("postgresql password %q", got)
	}
	if got := env(service(t, p, "temporal"))["POSTGRES_PWD"]; got != secrets["POSTGRES_PASSWORD"] {
		t.Errorf("temporal's database password %q differs from postgresql's", got)
	}
	if s := service(t, p, "temporal"); env(s)["POSTGRES_SEEDS"] != "postgresql" {
		t.Errorf("temporal looks for its database at %q", env(s)["POSTGRES_SEEDS"])
	}
	if s := service(t, p, "temporal-ui"); env(s)["TEMPORAL_ADDRESS"] != "temporal:7233" {
		t.Errorf("the UI looks for Temporal at %q", env(s)["TEMPORAL_ADDRESS"])
	}
}

// The workers and the starter read deployments/config.yaml with the environment the
// compose file gives them; what they then connect to must be what the compose file
// runs, with the credentials it sets.
func TestComposeAgreesWithTheConfig(t *testing.T) {
	p, err := loadProject(t, secrets)
	if err != nil {
		t.Fatal(err)
	}
	mongo := service(t, p, "mongodb")
	for _, name := range []string{"worker", "starter"} {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			configPath := mountedConfig(t, s)
			if !slices.Equal([]string(s.Command), []string{"-config", configPath}) {
				t.Errorf("command %v, want -config %s", s.Command, configPath)
			}
			data, err := os.ReadFile("config.yaml")
			if err != nil {
				t.Fatal(err)
			}
			vars := env(s)
			cfg, err := config.Parse(data, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
			if err != nil {
				t.Fatalf("config.yaml with the %s environment: %v", name, err)
			}
			if config.IsEmbedded(cfg.Temporal.HostPort) || config.IsEmbedded(cfg.Scenarios.FederatedLearning.MongoConfig.URL) {
				t.Fatalf("the containers' config leaves services embedded: %+v", cfg.Temporal)
			}
			host, port := splitHostPort(t, cfg.Temporal.HostPort)
			if host != "temporal" || !exposes(service(t, p, "temporal"), port, "7233") {
				t.Errorf("temporal.host_port %s is not the temporal service's frontend", cfg.Temporal.HostPort)
			}

			u, err := url.Parse(cfg.Scenarios.FederatedLearning.MongoConfig.URL)
			if err != nil {
				t.Fatal(err)
			}
			password, _ := u.User.Password()
			if u.Hostname() != "mongodb" || u.Port() != "27017" || u.User.Username() != env(mongo)["MONGO_INITDB_ROOT_USERNAME"] ||
				password != env(mongo)["MONGO_INITDB_ROOT_PASSWORD"] || u.Query().Get("authSource") != "admin" {
				t.Errorf("mongo_config.url %s does not log in to the mongodb service", u.Redacted())
			}
			if cfg.Security.TokenKey != secrets["TOKEN_KEY"] || cfg.Metrics.Token != secrets["METRICS_TOKEN"] {
				t.Error("the token key or the metrics token does not come from the environment")
			}
			ow := cfg.Providers.OpenWhisk["fabric"]
			if ow.Auth.OWAPIHost != "http://fabric:3233" || ow.Auth.OWAuth != secrets["OW_AUTH"] {
				t.Errorf("the OpenWhisk cluster %+v is not the fabric service with its key", ow.Auth.OWAPIHost)
			}
			fabric := service(t, p, "fabric")
			if !slices.Contains(fabric.Command, secrets["OW_AUTH"]) || !slices.Contains(fabric.Command, "0.0.0.0:3233") {
				t.Errorf("the fabric serves with %v, not the workers' key on port 3233", fabric.Command)
			}
			// The image keeps the sources at /src (see the Dockerfile).
			fn := cfg.Scenarios.FederatedLearning.Functions["fl_client"].OpenWhisk
			if fn == nil || !strings.HasPrefix(fn.FuncPath, "/src/") {
				t.Fatalf("fl_client's func_path %+v is not inside the image's /src", fn)
			}
			if _, err := os.Stat(filepath.Join("..", strings.TrimPrefix(fn.FuncPath, "/src/"))); err != nil {
				t.Errorf("func_path %s: %v", fn.FuncPath, err)
			}

			if name == "starter" {
				// The dashboard the starter serves is the port it publishes.
				host, port := splitHostPort(t, cfg.Dashboard.Listen)
				if host != "0.0.0.0" || len(s.Ports) != 1 || fmt.Sprint(s.Ports[0].Target) != port {
					t.Errorf("dashboard.listen %s, the starter publishes %+v", cfg.Dashboard.Listen, s.Ports)
				}
			}
			if name != "worker" {
				return
			}
			if s.Deploy == nil || s.Deploy.Replicas == nil || *s.Deploy.Replicas < 3 {
				t.Errorf("worker deploy %+v, want at least 3 replicas", s.Deploy)
			}
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= cfg.Worker.StopTimeoutDuration() {
				t.Errorf("stop_grace_period %v does not leave worker.stop_timeout (%v) to hand work back", s.StopGracePeriod, cfg.Worker.StopTimeoutDuration())
			}
			probe := []string{"CMD", "worker", "-config", configPath, "-probe"}
			if s.HealthCheck == nil || !slices.Equal([]string(s.HealthCheck.Test), probe) {
				t.Errorf("worker health check %+v, want %v", s.HealthCheck, probe)
			}
			_, metricsPort := splitHostPort(t, cfg.Metrics.Listen)
			if h, _ := splitHostPort(t, cfg.Metrics.Listen); h != "0.0.0.0" {
				t.Errorf("metrics.listen %s is not reachable from Prometheus's container", cfg.Metrics.Listen)
			}
			checkPrometheus(t, p, metricsPort)
		})
	}
}

// checkPrometheus reads the scrape config Prometheus gets and expects it to find the
// worker replicas on the metrics port with the metrics token.
func checkPrometheus(t *testing.T, p *types.Project, metricsPort string) {
	prom := service(t, p, "prometheus")
	var promFile string
	for _, v := range prom.Volumes {
		if v.Target == "/etc/prometheus/prometheus.yml" {
			promFile = v.Source
		}
	}
	data, err := os.ReadFile(promFile)
	if err != nil {
		t.Fatalf("prometheus.yml mounted from %q: %v", promFile, err)
	}
	var scrape struct {
		ScrapeConfigs []struct {
			Authorization struct {
				CredentialsFile string `yaml:"credentials_file"`
			} `yaml:"authorization"`
			DNSSD []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &scrape); err != nil {
		t.Fatal(err)
	}
	if len(scrape.ScrapeConfigs) != 1 || len(scrape.ScrapeConfigs[0].DNSSD) != 1 {
		t.Fatalf("scrape configs %+v", scrape.ScrapeConfigs)
	}
	job := scrape.ScrapeConfigs[0]
	if sd := job.DNSSD[0]; !slices.Equal(sd.Names, []string{"worker"}) || metricsPort != strconv.Itoa(sd.Port) {
		t.Errorf("Prometheus looks for %v on port %d; the workers serve on %s", sd.Names, sd.Port, metricsPort)
	}
	if len(prom.Secrets) != 1 || job.Authorization.CredentialsFile != "/run/secrets/"+prom.Secrets[0].Source {
		t.Errorf("Prometheus reads the token from %q, its secrets are %+v", job.Authorization.CredentialsFile, prom.Secrets)
	}
	if secret, ok := p.Secrets[prom.Secrets[0].Source]; !ok || secret.Environment != "METRICS_TOKEN" {
		t.Errorf("the metrics token secret %+v does not come from METRICS_TOKEN", secret)
	}
}

// The Dockerfile has a target for every service the compose file builds.
func TestDockerfileTargets(t *testing.T) {
	p, err := loadProject(t, secrets)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?mi)^FROM\s+\S+\s+AS\s+(\S+)`).FindAllStringSubmatch(string(data), -1) {
		stages[m[1]] = true
	}
	built := 0
	for _, s := range p.Services {
		if s.Build == nil {
			continue
		}
		built++
		if filepath.Base(s.Build.Dockerfile) != "Dockerfile" || !stages[s.Build.Target] {
			t.Errorf("%s builds target %q of %s; the Dockerfile has %v", s.Name, s.Build.Target, s.Build.Dockerfile, stages)
		}
	}
	if built != 3 {
		t.Errorf("%d services are built here, want worker, starter and fabric", built)
	}
	// Every binary an image runs is built.
	for _, bin := range []string{"./worker", "./starter", "./cmd/fabric"} {
		if !strings.Contains(string(data), bin) {
			t.Errorf("the Dockerfile does not build %s", bin)
		}
	}
}

func mountedConfig(t *testing.T, s types.ServiceConfig) string {
	t.Helper()
	for _, v := range s.Volumes {
		if filepath.Base(v.Source) == "config.yaml" && filepath.Base(filepath.Dir(v.Source)) == "deployments" {
			if !v.ReadOnly {
				t.Errorf("%s mounts its config writable", s.Name)
			}
			return v.Target
		}
	}
	t.Fatalf("%s mounts no deployments/config.yaml: %+v", s.Name, s.Volumes)
	return ""
}

func exposes(s types.ServiceConfig, port, want string) bool {
	if port != want {
		return false
	}
	for _, p := range s.Ports {
		if strconv.Itoa(int(p.Target)) == port {
			return true
		}
	}
	return false
}

func splitHostPort(t *testing.T, hp string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		t.Fatalf("%q: %v", hp, err)
	}
	return h, p
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
