// Command openwhisk is every FedKeeper function built for OpenWhisk's Go actionloop
// runtime: deploy it as the "exec" of a native action (kind go:1.22) whose name is the
// function's (fl_client, nodeinfo, …); the action name picks the function.
package main

import (
	"fmt"
	"os"
	"path"

	"github.com/fedkeeper/fedkeeper/functions/actionloop"
	"github.com/fedkeeper/fedkeeper/functions/catalog"
)

func main() {
	// __OW_ACTION_NAME is /namespace[/package]/name.
	name := path.Base(os.Getenv("__OW_ACTION_NAME"))
	fn, err := catalog.Lookup(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openwhisk:", err)
		os.Exit(1)
	}
	// Web actions (the seed deployed with --web raw) get the same functions.
	if err := actionloop.Serve(actionloop.Web(actionloop.Handler(fn))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
