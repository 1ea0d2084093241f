// Command deploy is the seed's deploy.py, the cluster test: it deploys (-d) or removes
// (-r) a scenario's functions (-s test -f nodeinfo by default) on all clusters (-a) or
// on named OpenWhisk (-o), Google Cloud Functions (-g), OpenFaaS (-e) and AWS Lambda
// (-l) clusters, and
// after deploying calls each function once to show the cluster works. deploy.py's long
// options (--configfile, --all_providers, --ow_providers_list, …) are aliases.
//
//	deploy -config config.yaml -a -s test -f nodeinfo -d
//	deploy -config config.yaml -o local -g local -s test -f nodeinfo -r
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fedkeeper/fedkeeper/bootstrap"
	"github.com/fedkeeper/fedkeeper/cliflags"
	"github.com/fedkeeper/fedkeeper/config"
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

// options are the command's flags.
type options struct {
	configPath              string
	all, doDeploy, doRemove bool
	ow, gcf, edge, aws      string
	scenario, functions     string
	metaData                bool
}

const usageIntro = `usage: deploy [flags]

The seed's deploy.py, the cluster test: deploys (-d) or removes (-r) a scenario's
functions on all clusters (-a) or on named ones (-o, -g, -e, -l), and after deploying calls
each once. deploy.py's long options (--configfile, --all_providers, --ow_providers_list,
--gcf_providers_list, --scenario_name, --functions_list, --deploy, --remove) work too.

flags:`

// parseFlags reads the flags: deploy.py's letters with its long option names as
// aliases, and -e for OpenFaaS gateways and -l for AWS Lambda clusters, which deploy.py
// did not have.
func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	s := cliflags.New("deploy", usageIntro, out)
	s.String(&o.configPath, "config.yaml", "config `file`", "config", "c", "configfile")
	s.Bool(&o.all, "all clusters of all providers", "a", "all_providers")
	s.String(&o.ow, "", "OpenWhisk `clusters`, separated by commas", "o", "ow_providers_list")
	s.String(&o.gcf, "", "Google Cloud Functions `clusters`, separated by commas", "g", "gcf_providers_list")
	s.String(&o.edge, "", "OpenFaaS `gateways`, separated by commas", "e")
	s.String(&o.aws, "", "AWS Lambda `clusters` (providers.aws), separated by commas", "l", "lambda_providers_list")
	s.String(&o.scenario, "test", "`scenario`: test or federated_learning", "s", "scenario_name")
	s.String(&o.functions, "", "`functions`, separated by commas (default: all of the scenario's)", "f", "functions_list")
	s.Bool(&o.doDeploy, "deploy", "d", "deploy")
	s.Bool(&o.doRemove, "remove", "r", "remove")
	s.Bool(&o.metaData, "accepted and ignored: deploy.py never saved the meta data it offered to", "m", "get_meta_data")
	if err := s.Parse(args); err != nil {
		return o, err
	}
	if o.doDeploy == o.doRemove {
		err := errors.New("deploy: give exactly one of -d (deploy) and -r (remove)")
		fmt.Fprintln(out, err)
		return o, err
	}
	return o, nil
}

func run() int {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	cfg, logger, baseDir, err := bootstrap.Setup(o.configPath, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	targets, err := deploy.ScenarioTargets(cfg, o.scenario,
		deploy.Selection{All: o.all, OpenWhisk: list(o.ow), Google: list(o.gcf), OpenFaaS: list(o.edge), AWS: list(o.aws)}, list(o.functions))
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	resolved, stopFabrics, err := clusters(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stopFabrics()
	providers, err := bootstrap.Providers(ctx, resolved)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if o.doRemove {
		err = deploy.Remove(ctx, providers, targets, os.Stdout)
	} else {
		err = deployAndCall(ctx, resolved, baseDir, providers, o.scenario, targets)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// clusters resolves the embedded clusters: those of a running stack, or else fabrics
// started for this check only (stopped by the returned function).
func clusters(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*config.Config, func(), error) {
	if !discovery.Needed(cfg) {
		return cfg, func() {}, nil
	}
	if endpoints, err := discovery.Find(cfg); err == nil {
		return endpoints.Apply(cfg), func() {}, nil
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("data_dir: %w", err)
	}
	var endpoints discovery.Endpoints
	set, err := fabrics.Start(ctx, cfg, dataDir, logger, &endpoints, discovery.Endpoints{})
	if err != nil {
		return nil, nil, err
	}
	fmt.Println("no embedded stack is running: the embedded clusters run for this check only")
	return endpoints.Apply(cfg), set.Stop, nil
}

// deployAndCall deploys every target and calls each once, as deploy.py's users did by
// hand to see that a cluster works.
func deployAndCall(ctx context.Context, cfg *config.Config, baseDir string, providers map[string]faas.Provider, scenario string, targets []deploy.Target) error {
	dep, err := bootstrap.FunctionsDeployment(cfg)
	if err != nil {
		return err
	}
	builder := deploy.NewBuilder(cfg, baseDir, filepath.Join(cfg.DataDir, "build"), dep)
	if err := deploy.Deploy(ctx, builder, providers, deploy.Functions(cfg, scenario), targets, os.Stdout); err != nil {
		return err
	}
	failed := 0
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
			failed++
		case !act.Success:
			fmt.Printf("  %-9s %-40s FAILED: %s %s\n", "called", t, act.Status, act.Result)
			failed++
		default:
			fmt.Printf("  %-9s %-40s %s%s\n", "called", t, summary(act.Result), coldNote(act))
		}
	}
	if failed > 0 {
		return fmt.Errorf("deploy: %d of the calls failed", failed)
	}
	return nil
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
