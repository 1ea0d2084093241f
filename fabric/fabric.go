// Package fabric is the local FaaS fabric: one loopback HTTP server that speaks the
// platforms' real APIs (OpenWhisk's REST API, the Cloud Functions v1 API with its
// trigger URLs) and runs the deployed functions as real processes, so FedKeeper's
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

	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
)

// Options configure the fabric.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port).
	Addr string
	// DataDir receives deployed code.
	DataDir   string
	OpenWhisk openwhisk.Options
	// GCF enables the Cloud Functions API when its Token is set.
	GCF    gcf.Options
	Logger *slog.Logger
}

// Fabric is a running local fabric.
type Fabric struct {
	URL       string
	server    *http.Server
	openwhisk *openwhisk.Server
	gcf       *gcf.Server
	done      chan struct{}
}

// Start listens and serves until Stop.
func Start(ctx context.Context, opts Options) (*Fabric, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DataDir == "" {
		return nil, errors.New("fabric: a data directory is required")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fabric: listen on %s: %w", opts.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	owOpts := opts.OpenWhisk
	owOpts.DataDir = filepath.Join(opts.DataDir, "openwhisk")
	owOpts.APIHost = url
	if owOpts.Logger == nil {
		owOpts.Logger = opts.Logger
	}
	ow, err := openwhisk.New(owOpts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", ow)
	mux.Handle("/api/v1", ow)
	f := &Fabric{
		URL:       url,
		server:    &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second},
		openwhisk: ow,
		done:      make(chan struct{}),
	}
	if opts.GCF.Token != "" {
		gcfOpts := opts.GCF
		gcfOpts.BaseURL = url
		gcfOpts.DataDir = filepath.Join(opts.DataDir, "gcf")
		if gcfOpts.Logger == nil {
			gcfOpts.Logger = opts.Logger
		}
		g, err := gcf.New(gcfOpts)
		if err != nil {
			ow.Close()
			ln.Close()
			return nil, err
		}
		f.gcf = g
		for _, prefix := range []string{gcf.APIPrefix, gcf.UploadPrefix, gcf.TriggerPrefix} {
			mux.Handle(prefix, g)
		}
	}
	go func() {
		defer close(f.done)
		_ = f.server.Serve(ln)
	}()
	return f, nil
}

// Stop closes the listener, then destroys every function process.
func (f *Fabric) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.server.Shutdown(ctx)
	<-f.done
	f.openwhisk.Close()
	if f.gcf != nil {
		f.gcf.Close()
	}
}
