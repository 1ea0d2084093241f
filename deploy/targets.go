package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
)

// Target is one function on one cluster.
type Target struct {
	Platform config.Platform
	Cluster  string
	Function string
}

func (t Target) String() string {
	return string(t.Platform) + "/" + t.Cluster + "/" + t.Function
}

// ProviderKey is how providers are keyed: "platform/cluster".
func (t Target) ProviderKey() string { return string(t.Platform) + "/" + t.Cluster }

// ExperimentTargets are the federated learning scenario's functions, as the seed's
// main.py -d/-r handles them: each client function on every cluster that hosts clients,
// and the server's managing functions on the server cluster.
func ExperimentTargets(cfg *config.Config) ([]Target, error) {
	seen := map[string]bool{}
	var out []Target
	add := func(t Target) {
		if !seen[t.String()] {
			seen[t.String()] = true
			out = append(out, t)
		}
	}
	for _, p := range cfg.ClientPlacements() {
		add(Target{Platform: p.Platform, Cluster: p.Cluster, Function: p.Function})
	}
	sc := cfg.Scenarios.FederatedLearning.ServerConfig
	if len(sc.ServerManagerFunctions) > 0 {
		platform := cfg.PlatformOf(sc.ServerClusterName)
		if platform == "" {
			return nil, fmt.Errorf("scenarios.federated_learning.server_config.server_cluster_name: no cluster named %q", sc.ServerClusterName)
		}
		for _, fn := range sc.ServerManagerFunctions {
			if _, ok := cfg.Scenarios.FederatedLearning.Functions[fn]; !ok {
				return nil, fmt.Errorf("server function %q is not described under scenarios.federated_learning.functions", fn)
			}
			add(Target{Platform: platform, Cluster: sc.ServerClusterName, Function: fn})
		}
	}
	return out, nil
}

// Selection picks clusters as the seed's deploy.py does: all of them, or named
// OpenWhisk (-o), Google (-g), OpenFaaS (-e) and AWS Lambda (-l) clusters.
type Selection struct {
	All       bool
	OpenWhisk []string
	Google    []string
	OpenFaaS  []string
	AWS       []string
}

// ScenarioTargets are the named functions (all of the scenario's when empty) on the
// selected clusters, for every platform a function has a section for.
func ScenarioTargets(cfg *config.Config, scenario string, sel Selection, functions []string) ([]Target, error) {
	var fns map[string]config.Function
	switch scenario {
	case "test":
		fns = cfg.Scenarios.Test.Functions
	case "federated_learning":
		fns = cfg.Scenarios.FederatedLearning.Functions
	default:
		return nil, fmt.Errorf("unknown scenario %q (want test or federated_learning)", scenario)
	}
	if len(functions) == 0 {
		for name := range fns {
			functions = append(functions, name)
		}
		sort.Strings(functions)
	}
	clusters := map[config.Platform][]string{}
	pick := func(platform config.Platform, all []string, named []string, key string) error {
		if sel.All {
			clusters[platform] = all
			return nil
		}
		for _, n := range named {
			if !contains(all, n) {
				return fmt.Errorf("no %s cluster named %q under providers.%s (have %s)", platform, n, key, strings.Join(all, ", "))
			}
		}
		clusters[platform] = named
		return nil
	}
	if err := pick(config.OpenWhisk, keys(cfg.Providers.OpenWhisk), sel.OpenWhisk, "openwhisk"); err != nil {
		return nil, err
	}
	if err := pick(config.Google, keys(cfg.Providers.Google), sel.Google, "google"); err != nil {
		return nil, err
	}
	if err := pick(config.OpenFaaS, keys(cfg.Providers.OpenFaaS), sel.OpenFaaS, "openfaas"); err != nil {
		return nil, err
	}
	if err := pick(config.AWS, keys(cfg.Providers.AWS), sel.AWS, "aws"); err != nil {
		return nil, err
	}
	var out []Target
	for _, name := range functions {
		fn, ok := fns[name]
		if !ok {
			return nil, fmt.Errorf("function %q is not described under scenarios.%s.functions", name, scenario)
		}
		for _, p := range []struct {
			platform config.Platform
			has      bool
		}{{config.OpenWhisk, fn.OpenWhisk != nil}, {config.Google, fn.Google != nil}, {config.OpenFaaS, fn.OpenFaaS != nil}, {config.AWS, fn.AWS != nil}} {
			if !p.has {
				continue
			}
			for _, c := range clusters[p.platform] {
				out = append(out, Target{Platform: p.platform, Cluster: c, Function: name})
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("nothing selected: name clusters (-a, -o, -g, -e, -l) whose platform the functions describe")
	}
	return out, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Functions looks up a scenario's function descriptions by name.
func Functions(cfg *config.Config, scenario string) map[string]config.Function {
	if scenario == "test" {
		return cfg.Scenarios.Test.Functions
	}
	return cfg.Scenarios.FederatedLearning.Functions
}

// Deploy puts every target on its cluster, printing a line per target; it goes on after
// a failure and returns all failures joined.
func Deploy(ctx context.Context, b *Builder, providers map[string]faas.Provider, fns map[string]config.Function, targets []Target, out io.Writer) error {
	var errs []error
	for _, t := range targets {
		start := time.Now()
		err := func() error {
			prov, ok := providers[t.ProviderKey()]
			if !ok {
				return fmt.Errorf("cluster %s is not configured", t.ProviderKey())
			}
			fn, err := b.Function(ctx, t.Platform, t.Cluster, t.Function, fns[t.Function])
			if err != nil {
				return err
			}
			return prov.Deploy(ctx, fn)
		}()
		report(out, "deployed", t, start, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// Remove deletes every target from its cluster; removing what is not there is fine.
func Remove(ctx context.Context, providers map[string]faas.Provider, targets []Target, out io.Writer) error {
	var errs []error
	for _, t := range targets {
		start := time.Now()
		err := func() error {
			prov, ok := providers[t.ProviderKey()]
			if !ok {
				return fmt.Errorf("cluster %s is not configured", t.ProviderKey())
			}
			return prov.Remove(ctx, t.Function)
		}()
		report(out, "removed", t, start, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

func report(out io.Writer, verb string, t Target, start time.Time, err error) {
	if err != nil {
		fmt.Fprintf(out, "  %-9s %-40s FAILED: %v\n", verb, t, err)
		return
	}
	fmt.Fprintf(out, "  %-9s %-40s %.1fs\n", verb, t, time.Since(start).Seconds())
}
