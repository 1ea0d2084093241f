// Package gcf serves the example MLP client on Cloud Functions: functions-framework-go
// calls it as the function fl_client.
package gcf

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	mlp "github.com/fedkeeper/fedkeeper/examples/go-mlp"
	"github.com/fedkeeper/fedkeeper/sdk"
)

func init() {
	functions.HTTP("fl_client", sdk.HTTPHandler(sdk.NewClient(mlp.Train)).ServeHTTP)
}
