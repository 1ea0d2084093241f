// Package fabrics starts the local FaaS fabrics an experiment's config asks for: one per
// embedded cluster (OpenWhisk, Cloud Functions, OpenFaaS or AWS Lambda), each speaking its platform's
// API with credentials of its own. It does not link the Temporal server, so light
// commands (the cluster test) can bring fabrics up by themselves.
package fabrics

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/embedded/discovery"
	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/lambda"
	"github.com/fedkeeper/fedkeeper/fabric/openfaas"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
)

// Set is the running fabrics and their endpoints.
type Set struct {
	fabrics   []*fabric.Fabric
	injectors []*faults.Injector
}

// Injected sums the faults every fabric injected so far.
func (s *Set) Injected() map[faults.Kind]int {
	out := map[faults.Kind]int{}
	for _, inj := range s.injectors {
		for k, v := range inj.Counts() {
			out[k] += v
		}
	}
	return out
}

// Start brings up a fabric for every embedded cluster of cfg and records its address
// and credentials in e. On error the fabrics started so far are stopped.
// prev are the endpoints of an earlier run: their free ports and credentials are reused.
func Start(ctx context.Context, cfg *config.Config, dataDir string, logger *slog.Logger, e *discovery.Endpoints, prev discovery.Endpoints) (*Set, error) {
	s := &Set{}
	if e.OpenWhisk == nil {
		e.OpenWhisk = map[string]discovery.FabricEndpoint{}
	}
	if e.Google == nil {
		e.Google = map[string]discovery.GoogleEndpoint{}
	}
	if e.OpenFaaS == nil {
		e.OpenFaaS = map[string]discovery.OpenFaaSEndpoint{}
	}
	if e.AWS == nil {
		e.AWS = map[string]discovery.AWSEndpoint{}
	}
	if err := s.start(ctx, cfg, dataDir, logger, e, prev); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop ends every fabric and its function processes.
func (s *Set) Stop() {
	for _, f := range s.fabrics {
		f.Stop()
	}
	s.fabrics = nil
}

// startFabrics brings up one local fabric per embedded cluster, each speaking its
// platform's API with credentials of its own.
func (s *Set) start(ctx context.Context, cfg *config.Config, dataDir string, logger *slog.Logger, e *discovery.Endpoints, prev discovery.Endpoints) error {
	start := func(platform, name string, conf config.FabricConfiguration, prevURL string, opts fabric.Options) (*fabric.Fabric, error) {
		opts.Addr = "127.0.0.1:0"
		if port := discovery.PortOf(prevURL); conf.Port == 0 && discovery.Free(port) {
			opts.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		if conf.Port != 0 {
			opts.Addr = fmt.Sprintf("127.0.0.1:%d", conf.Port)
		}
		opts.Faults = faults.New(conf.Faults)
		s.injectors = append(s.injectors, opts.Faults)
		opts.DataDir, opts.Logger = filepath.Join(dataDir, "fabric", platform+"-"+name), logger
		f, err := fabric.Start(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("embedded: %s cluster %s: %w", platform, name, err)
		}
		s.fabrics = append(s.fabrics, f)
		logger.Info("local FaaS fabric started", "platform", platform, "cluster", name, "url", f.URL)
		return f, nil
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Providers.OpenWhisk)) {
		cluster := cfg.Providers.OpenWhisk[name]
		if !config.IsEmbedded(cluster.Auth.OWAPIHost) {
			continue
		}
		auth := cluster.Auth.OWAuth
		if auth == "" {
			auth = prev.OpenWhisk[name].Auth
		}
		if auth == "" {
			auth = randomAuth()
		}
		ns := cluster.Namespace
		if ns == "" || ns == "_" {
			ns = "guest"
		}
		f, err := start("openwhisk", name, cluster.Fabric, prev.OpenWhisk[name].APIHost, fabric.Options{
			OpenWhisk: &openwhisk.Options{Namespace: ns, Auth: auth, MaxContainers: cluster.Fabric.MaxContainers, Python: cluster.Fabric.Python, Logger: logger},
		})
		if err != nil {
			return err
		}
		e.OpenWhisk[name] = discovery.FabricEndpoint{APIHost: f.URL, Auth: auth}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Providers.Google)) {
		cluster := cfg.Providers.Google[name]
		if !cluster.Embedded() {
			continue
		}
		token := cluster.AccessToken
		if token == "" {
			token = prev.Google[name].Token
		}
		if token == "" {
			token = NewSecret(32)
		}
		f, err := start("google", name, cluster.Fabric, prev.Google[name].APIEndpoint, fabric.Options{
			GCF: &gcf.Options{Token: token, MaxInstances: cluster.Fabric.MaxContainers, Python: cluster.Fabric.Python, Logger: logger},
		})
		if err != nil {
			return err
		}
		e.Google[name] = discovery.GoogleEndpoint{APIEndpoint: f.URL + "/", Token: token}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Providers.OpenFaaS)) {
		cluster := cfg.Providers.OpenFaaS[name]
		if !cluster.Embedded() {
			continue
		}
		user, password := cluster.Auth.User, cluster.Auth.Password
		if user == "" {
			user = "admin"
		}
		if password == "" && prev.OpenFaaS[name].User == user {
			password = prev.OpenFaaS[name].Password
		}
		if password == "" {
			password = NewSecret(24)
		}
		f, err := start("openfaas", name, cluster.Fabric, prev.OpenFaaS[name].Gateway, fabric.Options{
			OpenFaaS: &openfaas.Options{User: user, Password: password, MaxInstances: cluster.Fabric.MaxContainers, Python: cluster.Fabric.Python, Logger: logger},
		})
		if err != nil {
			return err
		}
		e.OpenFaaS[name] = discovery.OpenFaaSEndpoint{Gateway: f.URL, User: user, Password: password}
	}
	return s.startLambdas(cfg, e, prev, start)
}

// startFunc starts one cluster's fabric.
type startFunc func(platform, name string, conf config.FabricConfiguration, prevURL string, opts fabric.Options) (*fabric.Fabric, error)

// Defaults of an embedded Lambda cluster that names neither region nor role.
const (
	embeddedRegion = "us-east-1"
	embeddedRole   = "arn:aws:iam::000000000000:role/fedkeeper-embedded"
)

// startLambdas brings up a fabric Lambda per embedded AWS cluster, with an access key
// of its own (kept across restarts like the other clusters' credentials).
func (s *Set) startLambdas(cfg *config.Config, e *discovery.Endpoints, prev discovery.Endpoints, start startFunc) error {
	for _, name := range slices.Sorted(maps.Keys(cfg.Providers.AWS)) {
		cluster := cfg.Providers.AWS[name]
		if !cluster.Embedded() {
			continue
		}
		ep := prev.AWS[name]
		if ep.AccessKeyID == "" || ep.SecretAccessKey == "" {
			ep.AccessKeyID, ep.SecretAccessKey = "AKIA"+strings.ToUpper(NewSecret(8)), NewSecret(20)
		}
		ep.Region, ep.Role = cmp.Or(cluster.Region, embeddedRegion), cmp.Or(cluster.Role, embeddedRole)
		f, err := start("aws", name, cluster.Fabric, ep.Endpoint, fabric.Options{
			Lambda: &lambda.Options{AccessKeyID: ep.AccessKeyID, SecretAccessKey: ep.SecretAccessKey, Region: ep.Region,
				MaxInstances: cluster.Fabric.MaxContainers, Python: cluster.Fabric.Python},
		})
		if err != nil {
			return err
		}
		ep.Endpoint = f.URL
		e.AWS[name] = ep
	}
	return nil
}

// NewSecret returns n random bytes in hex, for generated credentials.
func NewSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomAuth makes an OpenWhisk-style uuid:key credential for an embedded fabric.
func randomAuth() string {
	var b [16 + 32]byte
	_, _ = rand.Read(b[:])
	u := hex.EncodeToString(b[:16])
	return u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:] + ":" + hex.EncodeToString(b[16:])
}
