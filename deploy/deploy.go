// Package deploy turns a function described in the config into what a cluster deploys:
// for OpenWhisk a native action zip, for Cloud Functions a Go source archive, for
// OpenFaaS an image (an executable for the local fabric, docker_image for a real
// gateway). Code is built once per process and reused.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
	"github.com/fedkeeper/fedkeeper/faas"
	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

// Builder packages functions.
type Builder struct {
	cfg      *config.Config
	baseDir  string
	buildDir string
	dep      deployment.Config // what the functions are deployed with

	mu    sync.Mutex
	built map[string][]byte // package bytes (or an executable's path) by platform and func_path
}

// NewBuilder packages relative func_path values against baseDir and builds into
// buildDir; the functions are deployed with what of dep each needs (see Secrets).
func NewBuilder(cfg *config.Config, baseDir, buildDir string, dep deployment.Config) *Builder {
	return &Builder{cfg: cfg, baseDir: baseDir, buildDir: buildDir, dep: dep, built: map[string][]byte{}}
}

// Function returns the deployable form of the named function for a cluster.
func (b *Builder) Function(ctx context.Context, platform config.Platform, cluster, name string, fn config.Function) (faas.Function, error) {
	switch platform {
	case config.OpenWhisk:
		ow := fn.OpenWhisk
		if ow == nil {
			return faas.Function{}, fmt.Errorf("function %q has no openwhisk section", name)
		}
		code, err := b.cached(ctx, "openwhisk", ow.FuncPath, func() ([]byte, error) {
			return pack.OpenWhiskZip(ctx, ow.FuncPath, b.baseDir, filepath.Join(b.buildDir, "openwhisk"))
		})
		if err != nil {
			return faas.Function{}, err
		}
		fn := faas.Function{Name: name, Code: code, Kind: "go:1.22", MemoryMB: ow.Memory,
			Timeout: time.Duration(ow.Timeout) * time.Millisecond, Concurrency: ow.Concurrency}
		fn.Env, fn.Secrets = b.settings(platform, cluster, name)
		if ow.Web == "true" || ow.Web == "raw" {
			// As `wsk action create --web raw`, but never open to anyone: callers need the
			// namespace key (basic authentication) or this secret in X-Require-Whisk-Auth.
			fn.Annotations = map[string]any{"web-export": true, "raw-http": ow.Web == "raw", "final": true,
				"require-whisk-auth": b.webSecret(name)}
		}
		return fn, nil
	case config.Google:
		g := fn.Google
		if g == nil {
			return faas.Function{}, fmt.Errorf("function %q has no google section", name)
		}
		code, err := b.cached(ctx, "google", g.FuncPath, func() ([]byte, error) {
			return pack.GCFSource(ctx, g.FuncPath, b.baseDir)
		})
		if err != nil {
			return faas.Function{}, err
		}
		memory, err := g.MemoryMB()
		if err != nil {
			return faas.Function{}, fmt.Errorf("function %q: google.memory %w", name, err)
		}
		timeout, err := g.TimeoutDuration()
		if err != nil {
			return faas.Function{}, fmt.Errorf("function %q: google.timeout %w", name, err)
		}
		env, secrets := b.settings(platform, cluster, name)
		return faas.Function{Name: name, Code: code, Kind: g.Runtime, EntryPoint: g.EntryPoint, MemoryMB: memory, Timeout: timeout,
			Env: env, Secrets: secrets}, nil
	case config.OpenFaaS:
		of := fn.OpenFaaS
		if of == nil {
			return faas.Function{}, fmt.Errorf("function %q has no openfaas section", name)
		}
		gateway := b.cfg.Providers.OpenFaaS[cluster]
		timeout, err := of.TimeoutDuration()
		if err != nil {
			return faas.Function{}, fmt.Errorf("function %q: openfaas.timeout %w", name, err)
		}
		env, secrets := b.settings(platform, cluster, name)
		if !gateway.LocalImages {
			if of.DockerImage == "" {
				return faas.Function{}, fmt.Errorf("function %q: set openfaas.docker_image, the image gateway %q pulls", name, cluster)
			}
			return faas.Function{Name: name, Image: of.DockerImage, MemoryMB: of.Memory, Timeout: timeout,
				Env: env, Secrets: secrets}, nil
		}
		path, err := b.cached(ctx, "openfaas", of.FuncPath, func() ([]byte, error) {
			p, err := pack.BuildGo(ctx, b.resolve(of.FuncPath), filepath.Join(b.buildDir, "openfaas"))
			return []byte(p), err
		})
		if err != nil {
			return faas.Function{}, err
		}
		return faas.Function{Name: name, Image: "file://" + string(path), MemoryMB: of.Memory, Timeout: timeout,
			Env: env, Secrets: secrets}, nil
	}
	return faas.Function{}, fmt.Errorf("unknown platform %q", platform)
}

// webSecret is the require-whisk-auth secret of a web action: stable for a config and
// function, so redeploying keeps it, and secret as long as the namespace key is.
func (b *Builder) webSecret(function string) string {
	key := ""
	for _, c := range b.cfg.Providers.OpenWhisk {
		key += c.Auth.OWAuth
	}
	sum := sha256.Sum256([]byte("fedkeeper web action|" + function + "|" + key))
	return hex.EncodeToString(sum[:16])
}

func (b *Builder) resolve(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(b.baseDir, path)
}

// cached builds once per platform and path. Builds run one at a time: they compete
// for the same cores and caches anyway.
func (b *Builder) cached(_ context.Context, platform, funcPath string, build func() ([]byte, error)) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := platform + "|" + funcPath
	if out, ok := b.built[key]; ok {
		return out, nil
	}
	if funcPath == "" {
		return nil, fmt.Errorf("no func_path for %s", platform)
	}
	out, err := build()
	if err != nil {
		return nil, err
	}
	b.built[key] = out
	return out, nil
}
