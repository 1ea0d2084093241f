// Package deploy turns a function described in the config into what a cluster deploys:
// for OpenWhisk a native action zip or Python code (a docker action of docker_image on a
// real cluster), for Cloud Functions a Go or Python source archive, for OpenFaaS an
// image (for the local fabric an executable or a python3-http folder, docker_image for
// a real gateway), for Lambda a zip (a Go bootstrap or a Python handler's folder).
// Which language a func_path is, pack.Detect tells. Code is built once
// per process and reused.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
		if fn.OpenWhisk == nil {
			return faas.Function{}, fmt.Errorf("function %q has no openwhisk section", name)
		}
		return b.openWhisk(ctx, cluster, name, fn.OpenWhisk)
	case config.Google:
		if fn.Google == nil {
			return faas.Function{}, fmt.Errorf("function %q has no google section", name)
		}
		return b.google(ctx, cluster, name, fn.Google)
	case config.OpenFaaS:
		if fn.OpenFaaS == nil {
			return faas.Function{}, fmt.Errorf("function %q has no openfaas section", name)
		}
		return b.openFaaS(ctx, cluster, name, fn.OpenFaaS)
	case config.AWS:
		if fn.AWS == nil {
			return faas.Function{}, fmt.Errorf("function %q has no aws section", name)
		}
		return b.lambda(ctx, cluster, name, fn.AWS)
	}
	return faas.Function{}, fmt.Errorf("unknown platform %q", platform)
}

// Kinds and runtimes a Python function gets when its config names none.
const (
	defaultPythonKind    = "python:3.11"
	defaultPythonRuntime = "python311"
	defaultGoRuntime     = "go122"
	// Lambda's: Go runs as a bootstrap on the OS-only runtime (go1.x is retired).
	defaultLambdaGoRuntime     = "provided.al2023"
	defaultLambdaPythonRuntime = "python3.11"
	defaultLambdaHandler       = "lambda_function.lambda_handler"
)

// openWhisk is an action: a Go main package built as the native "exec", or Python code
// (a .py file, or a folder zipped with its __main__.py) of a python kind; on a real
// cluster a Python function with docker_image is a docker action of that image (kind
// blackbox) with the same code, as the seed deployed its TensorFlow clients.
func (b *Builder) openWhisk(ctx context.Context, cluster, name string, ow *config.OpenWhiskFunction) (faas.Function, error) {
	lang := pack.Detect(b.resolve(ow.FuncPath), ow.Runtime)
	code, err := b.cached(ctx, "openwhisk", ow.FuncPath, func() ([]byte, error) {
		if lang == pack.Python {
			return pack.OpenWhiskPython(b.resolve(ow.FuncPath), "/")
		}
		return pack.OpenWhiskZip(ctx, b.resolve(ow.FuncPath), "/", filepath.Join(b.buildDir, "openwhisk"))
	})
	if err != nil {
		return faas.Function{}, err
	}
	fn := faas.Function{Name: name, Code: code, Kind: "go:1.22", MemoryMB: ow.Memory,
		Timeout: time.Duration(ow.Timeout) * time.Millisecond, Concurrency: ow.Concurrency}
	if lang == pack.Python {
		fn.Kind = defaultPythonKind
		if strings.HasPrefix(ow.Runtime, "python") {
			fn.Kind = ow.Runtime
		}
		if ow.DockerImage != "" && !config.IsEmbedded(b.cfg.Providers.OpenWhisk[cluster].Auth.OWAPIHost) {
			fn.Image = ow.DockerImage
		}
	}
	fn.Env, fn.Secrets = b.settings(config.OpenWhisk, cluster, name)
	if ow.Web == "true" || ow.Web == "raw" {
		// As `wsk action create --web raw`, but never open to anyone: callers need the
		// namespace key (basic authentication) or this secret in X-Require-Whisk-Auth.
		fn.Annotations = map[string]any{"web-export": true, "raw-http": ow.Web == "raw", "final": true,
			"require-whisk-auth": b.webSecret(name)}
	}
	return fn, nil
}

// google is a Cloud Function: a Go package's module as the source (runtime go122 by
// default), or a Python folder with main.py (python311 by default).
func (b *Builder) google(ctx context.Context, cluster, name string, g *config.GoogleFunction) (faas.Function, error) {
	lang := pack.Detect(b.resolve(g.FuncPath), g.Runtime)
	code, err := b.cached(ctx, "google", g.FuncPath, func() ([]byte, error) {
		if lang == pack.Python {
			return pack.GCFPythonSource(b.resolve(g.FuncPath), "/")
		}
		return pack.GCFSource(ctx, b.resolve(g.FuncPath), "/")
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
	runtime := g.Runtime
	if runtime == "" {
		runtime = map[pack.Language]string{pack.Go: defaultGoRuntime, pack.Python: defaultPythonRuntime}[lang]
	}
	env, secrets := b.settings(config.Google, cluster, name)
	return faas.Function{Name: name, Code: code, Kind: runtime, EntryPoint: g.EntryPoint, MemoryMB: memory, Timeout: timeout,
		Env: env, Secrets: secrets}, nil
}

// openFaaS is an OpenFaaS function: a real gateway pulls its docker_image; the local
// fabric's takes a file:// image, the built Go handler or the python3-http folder.
func (b *Builder) openFaaS(ctx context.Context, cluster, name string, of *config.OpenFaaSFunction) (faas.Function, error) {
	gateway := b.cfg.Providers.OpenFaaS[cluster]
	timeout, err := of.TimeoutDuration()
	if err != nil {
		return faas.Function{}, fmt.Errorf("function %q: openfaas.timeout %w", name, err)
	}
	env, secrets := b.settings(config.OpenFaaS, cluster, name)
	fn := faas.Function{Name: name, Image: of.DockerImage, MemoryMB: of.Memory, Timeout: timeout, Env: env, Secrets: secrets}
	if !gateway.LocalImages {
		if of.DockerImage == "" {
			return faas.Function{}, fmt.Errorf("function %q: set openfaas.docker_image, the image gateway %q pulls", name, cluster)
		}
		return fn, nil
	}
	image, err := b.cached(ctx, "openfaas", of.FuncPath, func() ([]byte, error) {
		dir := filepath.Join(b.buildDir, "openfaas")
		if pack.Detect(b.resolve(of.FuncPath), "") == pack.Python {
			p, err := pack.OpenFaaSPython(b.resolve(of.FuncPath), "/", dir)
			return []byte(p + "/"), err
		}
		p, err := pack.BuildGo(ctx, b.resolve(of.FuncPath), dir)
		return []byte(p), err
	})
	if err != nil {
		return faas.Function{}, err
	}
	fn.Image = "file://" + string(image)
	return fn, nil
}

// lambda is a Lambda function: a Go main package built as a provided.al2023
// bootstrap, or a Python folder zipped with its handler's module (python3.11 by
// default, handler lambda_function.lambda_handler).
func (b *Builder) lambda(ctx context.Context, cluster, name string, a *config.AWSFunction) (faas.Function, error) {
	lang := pack.Detect(b.resolve(a.FuncPath), a.Runtime)
	handler := a.Handler
	if handler == "" && lang == pack.Python {
		handler = defaultLambdaHandler
	}
	code, err := b.cached(ctx, "aws|"+handler, a.FuncPath, func() ([]byte, error) {
		if lang == pack.Python {
			return pack.LambdaPython(b.resolve(a.FuncPath), "/", handler)
		}
		return pack.LambdaZip(ctx, b.resolve(a.FuncPath), "/", filepath.Join(b.buildDir, "lambda"))
	})
	if err != nil {
		return faas.Function{}, err
	}
	timeout, err := a.TimeoutDuration()
	if err != nil {
		return faas.Function{}, fmt.Errorf("function %q: aws.timeout %w", name, err)
	}
	runtime := a.Runtime
	if runtime == "" {
		runtime = map[pack.Language]string{pack.Go: defaultLambdaGoRuntime, pack.Python: defaultLambdaPythonRuntime}[lang]
	}
	env, secrets := b.settings(config.AWS, cluster, name)
	return faas.Function{Name: name, Code: code, Kind: runtime, EntryPoint: handler, MemoryMB: a.Memory, Timeout: timeout,
		Env: env, Secrets: secrets}, nil
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

// resolve makes a func_path absolute: relative to the config file's folder, or, when
// nothing is there but something is relative to the folder the command runs in, to
// that one, so a config kept outside the repository still finds FedKeeper's own
// functions (the built-in default ./functions/openwhisk) when run from it (make run).
func (b *Builder) resolve(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	beside := filepath.Join(b.baseDir, path)
	if _, err := os.Stat(beside); err == nil {
		return beside
	}
	if here, err := filepath.Abs(path); err == nil {
		if _, err := os.Stat(here); err == nil {
			return here
		}
	}
	return beside
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
