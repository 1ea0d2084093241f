// Command lambda is every FedKeeper function as an AWS Lambda bootstrap for the
// provided.al2023 runtime, on aws-lambda-go's runtime loop: it serves the function
// named by $AWS_LAMBDA_FUNCTION_NAME, the name Lambda runs it under, taking the
// invocation's event as the function's JSON parameters. A handler's error is Lambda's
// function error, which the keeper counts as a failed activation and retries.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedkeeper/fedkeeper/functions/catalog"
)

func main() {
	handler, err := catalog.Lookup(os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	if err != nil {
		// Before the runtime loop starts, a failure is Lambda's init error.
		fmt.Fprintln(os.Stderr, "lambda:", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, event json.RawMessage) (any, error) {
		return handler(ctx, event)
	})
}
