// Package gcf is every FedKeeper function as Google Cloud Functions (1st gen) source for
// the Go runtime: functions-framework-go registers each under its name, which is the
// function's entry point (FUNCTION_TARGET).
package gcf

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/fedkeeper/fedkeeper/functions/catalog"
	"github.com/fedkeeper/fedkeeper/functions/httpfn"
)

func init() {
	for name, fn := range catalog.Functions() {
		functions.HTTP(name, httpfn.Handler(fn))
	}
}
