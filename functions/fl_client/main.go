// Command fl_client is the FL client function built for OpenWhisk's actionloop runtime:
// deploy it as the "exec" of a native Go action (kind go:1.22).
package main

import (
	"fmt"
	"os"

	"github.com/fedkeeper/fedkeeper/functions/actionloop"
	"github.com/fedkeeper/fedkeeper/functions/flclient"
)

func main() {
	if err := actionloop.Serve(flclient.New().Handle); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
