package sdk

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/actionloop"
	"github.com/fedkeeper/fedkeeper/functions/httpfn"
)

// Main serves train until the platform stops the process, the way the platform it runs
// on calls a Go function: under OpenWhisk's actionloop protocol when the process was
// started as an action's exec, else as an HTTP server on $PORT (an OpenFaaS function
// behind its watchdog; 8082 when unset). A Go function on Cloud Functions is a
// package registered with functions-framework-go instead (see HTTPHandler). Main
// exits the process when serving fails.
func Main(train TrainFunc) {
	if err := Serve(NewClient(train)); err != nil {
		fmt.Fprintln(os.Stderr, "fedkeeper sdk:", err)
		os.Exit(1)
	}
}

// Serve serves c as Main does.
func Serve(c *Client) error {
	if onOpenWhisk() {
		return actionloop.Serve(actionloop.Web(c.Handle))
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8082"
	}
	srv := &http.Server{Addr: net.JoinHostPort("127.0.0.1", port), Handler: HTTPHandler(c), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// onOpenWhisk says whether the process is an OpenWhisk action's exec: the runtime sets
// these before starting it.
func onOpenWhisk() bool {
	return os.Getenv("__OW_WAIT_FOR_ACK") != "" || os.Getenv("__OW_ACTION_NAME") != ""
}

// HTTPHandler serves c over HTTP as Cloud Functions and OpenFaaS call functions: the
// request body is the invocation, the answer the JSON result, a failure a 500 with
// {"error": …}. On Cloud Functions register it with functions-framework-go:
//
//	func init() { functions.HTTP("fl_client", sdk.HTTPHandler(sdk.NewClient(train)).ServeHTTP) }
func HTTPHandler(c *Client) http.Handler { return httpfn.Handler(c.Handle) }
