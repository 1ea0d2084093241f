// Command deploy is the seed's deploy.py, the cluster test: it deploys (-d) or removes
// (-r) a scenario's functions (-s test -f nodeinfo by default) on all clusters (-a) or
// on named OpenWhisk (-o), Google Cloud Functions (-g) and OpenFaaS (-e) clusters, and
// after deploying calls each function once to show the cluster works.
//
//	deploy -config config.yaml -a -s test -f nodeinfo -d
//	deploy -config config.yaml -o local -g local -s test -f nodeinfo -r
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/deploy"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
	"github.com/fedkeeper/fedkeeper/embedded/fabrics"
	"github.com/fedkeeper/fedkeeper/faas"
)

func main() {
	os.Exit(run())
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func run() int {
	configPath := flag.String("config", "config.yaml", "config file (the seed's -c)")
	all := flag.Bool("a", false, "all clusters of all providers")
	ow := flag.String("o", "", "OpenWhisk clusters, separated by commas")
	gcf := flag.String("g", "", "Google Cloud Functions clusters, separated by commas")
	edge := flag.String("e", "", "OpenFaaS gateways, separated by commas")
	scenario := flag.String("s", "test", "scenario: test or federated_learning")
	functions := flag.String("f", "", "functions, separated by commas (default: all of the scenario's)")
	doDeploy := flag.Bool("d", false, "deploy")
	doRemove := flag.Bool("r", false, "remove")
	flag.Parse()
	if *doDeploy == *doRemove {
		fmt.Fprintln(os.Stderr, "deploy: give exactly one of -d (deploy) and -r (remove)")
		return 2
	}
	cfg, logger, baseDir, err := bootstrap.Setup(*configPath, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	targets, err := deploy.ScenarioTargets(cfg, *scenario,
		deploy.Selection{All: *all, OpenWhisk: list(*ow), Google: list(*gcf), OpenFaaS: list(*edge)}, list(*functions))
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	resolved := cfg
	if discovery.Needed(cfg) {
		if endpoints, err := discovery.Find(cfg); err == nil {
			resolved = endpoints.Apply(cfg)
		} else {
			// Without a running stack, embedded clusters exist only for this check.
			dataDir, err := filepath.Abs(cfg.DataDir)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			var endpoints discovery.Endpoints
			set, err := fabrics.Start(ctx, cfg, dataDir, logger, &endpoints, discovery.Endpoints{})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer set.Stop()
			resolved = endpoints.Apply(cfg)
			fmt.Println("no embedded stack is running: the embedded clusters run for this check only")
		}
	}
	providers, err := bootstrap.Providers(ctx, resolved)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *doRemove {
		if err := deploy.Remove(ctx, providers, targets, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	dep, err := bootstrap.FunctionsDeployment(resolved)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	builder := deploy.NewBuilder(resolved, baseDir, filepath.Join(resolved.DataDir, "build"), dep)
	if err := deploy.Deploy(ctx, builder, providers, deploy.Functions(resolved, *scenario), targets, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	failed := false
	for _, t := range targets {
		caller, ok := providers[t.ProviderKey()].(faas.Caller)
		if !ok {
			continue
		}
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		act, err := caller.Call(callCtx, t.Function, map[string]string{"check": t.String()})
		cancel()
		switch {
		case err != nil:
			fmt.Printf("  %-9s %-40s FAILED: %v\n", "called", t, err)
			failed = true
		case !act.Success:
			fmt.Printf("  %-9s %-40s FAILED: %s %s\n", "called", t, act.Status, act.Result)
			failed = true
		default:
			fmt.Printf("  %-9s %-40s %s%s\n", "called", t, summary(act.Result), coldNote(act))
		}
	}
	if failed {
		return 1
	}
	return 0
}

// summary shows what nodeinfo reports; other functions' results are shortened.
func summary(result json.RawMessage) string {
	var info struct {
		Hostname   string `json:"hostname"`
		CPUs       int    `json:"cpus"`
		MemTotalKB int64  `json:"mem_total_kb"`
		GoVersion  string `json:"go_version"`
	}
	if json.Unmarshal(result, &info) == nil && info.Hostname != "" {
		return fmt.Sprintf("host %s, %d CPUs, %d MB, %s", info.Hostname, info.CPUs, info.MemTotalKB/1024, info.GoVersion)
	}
	s := string(result)
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}

func coldNote(act faas.Activation) string {
	if act.ColdStart {
		return fmt.Sprintf(" (cold start %dms)", act.InitTime.Milliseconds())
	}
	return ""
}
