package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/fedkeeper/fedkeeper/faas"
)

// errorDocument is what Lambda answers for a function error: the runtime's report of
// the exception (errorType, errorMessage), or Lambda's own (Sandbox.Timedout,
// Runtime.ExitError, …).
type errorDocument struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// toActivation reads a synchronous invocation's answer: its payload, X-Amz-Function-Error
// and the REPORT line of its log tail. The activation's times are the caller's; the
// REPORT line tells how much of them the function ran, and what Lambda billed.
func toActivation(out *awslambda.InvokeOutput, start, end time.Time) faas.Activation {
	act := faas.Activation{Start: start, End: end, Success: out.FunctionError == nil, Status: "success"}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); ok {
		act.ID = id
	}
	if r, ok := ParseLogTail(aws.ToString(out.LogResult)); ok {
		if r.RequestID != "" {
			act.ID = r.RequestID
		}
		act.ColdStart, act.InitTime = r.Cold, r.InitDuration
		act.BilledDuration, act.MaxMemoryMB = r.BilledDuration, r.MaxMemoryMB
		act.WaitTime = max(0, end.Sub(start)-r.Duration-r.InitDuration)
	}
	if out.FunctionError != nil {
		var doc errorDocument
		_ = json.Unmarshal(out.Payload, &doc)
		act.Status = "error"
		if doc.ErrorType == "Sandbox.Timedout" {
			act.Status, act.TimedOut = "timeout", true
		}
		message := doc.ErrorMessage
		if doc.ErrorType != "" {
			message = doc.ErrorType + ": " + message
		}
		if message == "" {
			message = fmt.Sprintf("the function failed (%s)", aws.ToString(out.FunctionError))
		}
		act.Result, _ = json.Marshal(map[string]string{"error": message})
		return act
	}
	if json.Valid(out.Payload) {
		act.Result = out.Payload
	} else {
		act.Success, act.Status = false, "error"
		act.Result, _ = json.Marshal(map[string]string{"error": "the function's answer is not JSON"})
	}
	return act
}

// classify wraps an SDK error with the kind the keeper acts on. The SDK has retried
// throttling and server errors with backoff already; what is left is reported so the
// keeper backs off further (throttled, unavailable), redeploys (missing) or gives up
// on the request (rejected: credentials, permissions, a bad parameter, a payload too
// large).
func classify(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("lambda: %s: %w", op, err)
	}
	kind := faas.ErrUnavailable // no answer at all: the network, a closed connection
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		kind = errorKind(apiErr.ErrorCode())
		var resp *awshttp.ResponseError
		if kind == faas.ErrRejected && errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 {
			kind = faas.ErrUnavailable
		}
	}
	return fmt.Errorf("lambda: %s: %w: %w", op, err, kind)
}

// errorKind is the keeper's view of a Lambda error code.
func errorKind(code string) error {
	switch code {
	case "ResourceNotFoundException":
		return faas.ErrFunctionMissing
	case "TooManyRequestsException", "EC2ThrottledException", "ThrottlingException":
		return faas.ErrThrottled
	case "ServiceException", "ResourceConflictException", "ResourceNotReadyException", "EC2UnexpectedException",
		"ENILimitReachedException", "SubnetIPAddressLimitReachedException":
		// A function still Pending or being updated, or Lambda failing on its side.
		return faas.ErrUnavailable
	}
	return faas.ErrRejected
}
