// Command cmd serves the example MLP client: as an OpenWhisk action's exec, or as an
// OpenFaaS function's HTTP server.
package main

import (
	mlp "github.com/fedkeeper/fedkeeper/examples/go-mlp"
	"github.com/fedkeeper/fedkeeper/sdk"
)

func main() { sdk.Main(mlp.Train) }
