// Package fabric is the local FaaS fabric: one loopback HTTP server that speaks the
// platforms' real APIs (OpenWhisk's REST API, the Cloud Functions v1 API with its
// trigger URLs, the OpenFaaS gateway, AWS Lambda's control plane and Invoke) and runs the deployed functions as real processes, so FedKeeper's
// adapters talk to it exactly as to a real cluster.
package fabric

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/core"
	"github.com/fedkeeper/fedkeeper/fabric/faults"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/lambda"
	"github.com/fedkeeper/fedkeeper/fabric/openfaas"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
)

// Options configure the fabric.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port).
	Addr string
	// DataDir receives deployed code.
	DataDir string
	// Each platform's API is served when its options are given.
	OpenWhisk *openwhisk.Options
	GCF       *gcf.Options
	OpenFaaS  *openfaas.Options
	Lambda    *lambda.Options
	// Faults are injected into every platform's invocations; /fabric/faults reads and
	// changes them at run time.
	Faults *faults.Injector
	Logger *slog.Logger
}

// Fabric is a running local fabric.
type Fabric struct {
	URL     string
	server  *http.Server
	closers []func()
	done    chan struct{}
}

// Start listens and serves until Stop.
func Start(ctx context.Context, opts Options) (*Fabric, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DataDir == "" {
		return nil, errors.New("fabric: a data directory is required")
	}
	// Functions run in folders of their own: a relative path would no longer name the
	// deployed code from there.
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("fabric: data directory: %w", err)
	}
	opts.DataDir = dataDir
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fabric: listen on %s: %w", opts.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	f := &Fabric{URL: url, server: &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}, done: make(chan struct{})}
	fail := func(err error) (*Fabric, error) {
		f.closeAPIs()
		ln.Close()
		return nil, err
	}
	if opts.Faults == nil {
		opts.Faults = faults.New(faults.Faults{})
	}
	var admin core.AnyOf
	if opts.OpenWhisk != nil {
		o := *opts.OpenWhisk
		o.DataDir, o.APIHost = filepath.Join(opts.DataDir, "openwhisk"), url
		if o.Faults == nil {
			o.Faults = opts.Faults
		}
		admin = append(admin, core.Basic{UserPass: o.Auth})
		if o.Logger == nil {
			o.Logger = opts.Logger
		}
		ow, err := openwhisk.New(o)
		if err != nil {
			return fail(err)
		}
		f.closers = append(f.closers, ow.Close)
		mux.Handle("/api/v1/", ow)
		mux.Handle("/api/v1", ow)
	}
	if opts.GCF != nil {
		o := *opts.GCF
		o.BaseURL, o.DataDir = url, filepath.Join(opts.DataDir, "gcf")
		if o.Faults == nil {
			o.Faults = opts.Faults
		}
		admin = append(admin, core.Bearer{Token: o.Token})
		if o.Logger == nil {
			o.Logger = opts.Logger
		}
		g, err := gcf.New(o)
		if err != nil {
			return fail(err)
		}
		f.closers = append(f.closers, g.Close)
		for _, prefix := range []string{gcf.APIPrefix, gcf.UploadPrefix, gcf.TriggerPrefix} {
			mux.Handle(prefix, g)
		}
	}
	if opts.OpenFaaS != nil {
		o := *opts.OpenFaaS
		o.DataDir = filepath.Join(opts.DataDir, "openfaas")
		if o.Faults == nil {
			o.Faults = opts.Faults
		}
		if o.User == "" {
			o.User = "admin"
		}
		admin = append(admin, core.Basic{UserPass: o.User + ":" + o.Password})
		if o.Logger == nil {
			o.Logger = opts.Logger
		}
		of, err := openfaas.New(o)
		if err != nil {
			return fail(err)
		}
		f.closers = append(f.closers, of.Close)
		for _, prefix := range openfaas.Prefixes {
			mux.Handle(prefix, of)
		}
	}
	if opts.Lambda != nil {
		cred, closer, err := mountLambda(mux, opts)
		if err != nil {
			return fail(err)
		}
		admin = append(admin, cred)
		f.closers = append(f.closers, closer)
	}
	mux.Handle(FaultsPath, faultsHandler(opts.Faults, admin))
	go func() {
		defer close(f.done)
		_ = f.server.Serve(ln)
	}()
	return f, nil
}

// mountLambda serves the fabric's Lambda on mux and returns the credential it checks
// (which the fabric's own endpoints take too) and what closes it.
func mountLambda(mux *http.ServeMux, opts Options) (core.Credential, func(), error) {
	o := *opts.Lambda
	o.DataDir = filepath.Join(opts.DataDir, "lambda")
	if o.Faults == nil {
		o.Faults = opts.Faults
	}
	if o.Logger == nil {
		o.Logger = opts.Logger
	}
	l, err := lambda.New(o)
	if err != nil {
		return nil, nil, err
	}
	for _, prefix := range lambda.Prefixes {
		mux.Handle(prefix, l)
		mux.Handle(prefix+"/", l)
	}
	return core.SigV4{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey, Region: o.Region, Service: "lambda"}, l.Close, nil
}

// Stop closes the listener, then destroys every function process.
func (f *Fabric) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.server.Shutdown(ctx)
	<-f.done
	f.closeAPIs()
}

func (f *Fabric) closeAPIs() {
	for _, c := range f.closers {
		c()
	}
}
