// Command openfaas is every FedKeeper function as an OpenFaaS HTTP handler (the
// of-watchdog "http" mode): it serves on $PORT (default 8082, the watchdog's upstream)
// the function named by $OPENFAAS_FUNCTION, or by the first path segment when unset.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/catalog"
	"github.com/fedkeeper/fedkeeper/functions/httpfn"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8082"
	}
	handler, err := handler(os.Getenv("OPENFAAS_FUNCTION"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "openfaas:", err)
		os.Exit(1)
	}
	srv := &http.Server{Addr: net.JoinHostPort("127.0.0.1", port), Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "openfaas:", err)
		os.Exit(1)
	}
}

func handler(name string) (http.Handler, error) {
	if name != "" {
		fn, err := catalog.Lookup(name)
		if err != nil {
			return nil, err
		}
		return httpfn.Handler(fn), nil
	}
	fns := catalog.Functions()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		fn, ok := fns[first]
		if !ok {
			http.Error(w, "no such function", http.StatusNotFound)
			return
		}
		httpfn.Handler(fn)(w, r)
	}), nil
}
