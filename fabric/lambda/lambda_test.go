package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	golambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/fedkeeper/fedkeeper/fabric/archive/archivetest"
	"github.com/fedkeeper/fedkeeper/functions/pack"
)

// TestMain doubles as a provided.al2023 bootstrap on aws-lambda-go, the way a Go
// function is built for Lambda, when the fabric starts it under the Runtime API.
func TestMain(m *testing.M) {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		golambda.Start(handle)
		return
	}
	os.Exit(m.Run())
}

type event struct {
	Fail    bool `json:"fail,omitempty"`
	SleepMS int  `json:"sleep_ms,omitempty"`
	A       int  `json:"a"`
	B       int  `json:"b"`
}

func handle(ctx context.Context, e event) (map[string]any, error) {
	if e.Fail {
		return nil, errors.New("the model diverged")
	}
	time.Sleep(time.Duration(e.SleepMS) * time.Millisecond) // work that may outlast the timeout
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Println("training for", lc.AwsRequestID)
	return map[string]any{"sum": e.A + e.B, "name": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "memory": os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")}, nil
}

const (
	testKey, testSecret, testRegion = "AKIAFABRICTEST", "fabric-test-secret", "eu-west-1"
	testRole                        = "arn:aws:iam::000000000000:role/fedkeeper-fl"
)

// startLambda serves a fabric Lambda over real HTTP and returns an AWS SDK client of
// it signing with secret.
func startLambda(t *testing.T) (*Server, string) {
	t.Helper()
	s, err := New(Options{AccessKeyID: testKey, SecretAccessKey: testSecret, Region: testRegion, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func client(url, secret string) *awslambda.Client {
	return awslambda.New(awslambda.Options{Region: testRegion, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(testKey, secret, "")})
}

func goZip(t *testing.T) []byte {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	zip, err := pack.ZipExecutable(bootstrapFile, data)
	if err != nil {
		t.Fatal(err)
	}
	return zip
}

var reportLine = regexp.MustCompile(`REPORT RequestId: \S+\tDuration: [0-9.]+ ms\tBilled Duration: [0-9]+ ms\tMemory Size: 256 MB\tMax Memory Used: [1-9][0-9]* MB\t(Init Duration: [0-9.]+ ms\t)?`)

// A Go function deployed through the AWS SDK runs under the Runtime API: cold, then
// warm; its log tail ends with Lambda's REPORT line (an Init Duration only when cold);
// a function error comes back as X-Amz-Function-Error with the error document; a
// configuration update takes effect (a timeout that now cuts a run short); and a
// deleted function is not found.
func TestGoFunctionThroughTheAWSSDK(t *testing.T) {
	ctx := context.Background()
	_, url := startLambda(t)
	c := client(url, testSecret)
	if _, err := c.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("fl_client"), Role: aws.String(testRole),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), MemorySize: aws.Int32(256), Timeout: aws.Int32(30),
		Code: &types.FunctionCode{ZipFile: goZip(t)}}); err != nil {
		t.Fatal(err)
	}
	if err := awslambda.NewFunctionActiveV2Waiter(c).Wait(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("fl_client")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	invoke := func(e event) *awslambda.InvokeOutput {
		t.Helper()
		payload, _ := json.Marshal(e)
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fl_client"), Payload: payload, LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for i, cold := range []bool{true, false} {
		out := invoke(event{A: 2, B: 3})
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		report := reportLine.FindStringSubmatch(string(tail))
		if out.FunctionError != nil || !strings.Contains(string(out.Payload), `"sum":5`) || !strings.Contains(string(out.Payload), `"memory":"256"`) {
			t.Errorf("invocation %d: %s (%v)", i, out.Payload, aws.ToString(out.FunctionError))
		}
		if report == nil || (report[1] != "") != cold || !strings.Contains(string(tail), "\ntraining for ") {
			t.Errorf("invocation %d (cold %t): log tail %q", i, cold, tail)
		}
	}
	failed := invoke(event{Fail: true})
	if aws.ToString(failed.FunctionError) != "Unhandled" || !strings.Contains(string(failed.Payload), "the model diverged") {
		t.Errorf("a function error: %q %s", aws.ToString(failed.FunctionError), failed.Payload)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fl_client"), Timeout: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	timedOut := invoke(event{SleepMS: 3000})
	if aws.ToString(timedOut.FunctionError) != "Unhandled" || !strings.Contains(string(timedOut.Payload), "Task timed out after 1.00 seconds") {
		t.Errorf("a run past the new 1 s timeout: %q %s", aws.ToString(timedOut.FunctionError), timedOut.Payload)
	}
	listed, err := c.ListFunctions(ctx, &awslambda.ListFunctionsInput{})
	if err != nil || len(listed.Functions) != 1 || aws.ToString(listed.Functions[0].FunctionName) != "fl_client" || aws.ToInt32(listed.Functions[0].Timeout) != 1 {
		t.Errorf("ListFunctions: %+v, %v; want fl_client with its 1 s timeout", listed, err)
	}
	if _, err := c.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("fl_client")}); err != nil {
		t.Fatal(err)
	}
	if listed, err := c.ListFunctions(ctx, &awslambda.ListFunctionsInput{}); err != nil || len(listed.Functions) != 0 {
		t.Errorf("ListFunctions after the deletion: %+v, %v", listed, err)
	}
	var missing *types.ResourceNotFoundException
	if _, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fl_client")}); !errors.As(err, &missing) {
		t.Errorf("invoking a deleted function: %v, want ResourceNotFoundException", err)
	}
}

// A python3.x function's handler runs under the fabric's runtime interface client.
func TestPythonFunctionThroughTheAWSSDK(t *testing.T) {
	ctx := context.Background()
	_, url := startLambda(t)
	c := client(url, testSecret)
	code := archivetest.Zip(t, map[string][]byte{"main.py": []byte("def handler(event, context):\n    return {'sum': event['a'] + event['b'], 'id': context.aws_request_id}\n")})
	if _, err := c.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("pytorch_client"), Role: aws.String(testRole),
		Runtime: types.RuntimePython311, Handler: aws.String("main.handler"), Code: &types.FunctionCode{ZipFile: code}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("pytorch_client"), Payload: []byte(`{"a": 40, "b": 2}`)})
	if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"sum": 42`) {
		t.Fatalf("%s %v (%v)", out.Payload, out.FunctionError, err)
	}
}

// Every call must be signed with the fabric's credentials: another secret is refused
// before anything is created, and so is what Lambda refuses (a runtime it cannot run,
// a role that is no role's ARN).
func TestCallsAreCheckedAndBadConfigurationsRefused(t *testing.T) {
	ctx := context.Background()
	s, url := startLambda(t)
	var apiErr smithy.APIError
	_, err := client(url, "guessed").CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("intruder"), Role: aws.String(testRole),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: goZip(t)}})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("a call signed with another secret: %v, want InvalidSignatureException", err)
	}
	if _, ok := s.lookup("intruder"); ok {
		t.Error("the refused call created its function")
	}
	c := client(url, testSecret)
	for _, in := range []*awslambda.CreateFunctionInput{
		{FunctionName: aws.String("old"), Role: aws.String(testRole), Runtime: types.RuntimeNodejs20x, Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: goZip(t)}},
		{FunctionName: aws.String("norole"), Role: aws.String("fedkeeper"), Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: goZip(t)}},
		{FunctionName: aws.String("nobootstrap"), Role: aws.String(testRole), Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: archivetest.Zip(t, map[string][]byte{"main": []byte("x")})}},
	} {
		var bad *types.InvalidParameterValueException
		if _, err := c.CreateFunction(ctx, in); !errors.As(err, &bad) {
			t.Errorf("creating %s: %v, want InvalidParameterValueException", aws.ToString(in.FunctionName), err)
		}
	}
}
