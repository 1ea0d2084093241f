package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/pack"
	"github.com/fedkeeper/fedkeeper/jstest"
)

// lambdaLifecycle is what a user of the AWS SDK for JavaScript v3 does against a
// Lambda endpoint: create a provided.al2023 function from a zip, wait until it is
// Active, invoke it with its log tail, read its configuration, delete it, and see it
// gone; and, with a wrong secret, be refused. It prints what it saw as JSON.
const lambdaLifecycle = `
const {LambdaClient, CreateFunctionCommand, InvokeCommand, GetFunctionCommand, DeleteFunctionCommand,
  waitUntilFunctionActiveV2} = require('@aws-sdk/client-lambda');
const fs = require('fs');
const creds = JSON.parse(fs.readFileSync(process.env.CREDENTIALS));
const client = (secret) => new LambdaClient({endpoint: creds.lambda_endpoint, region: creds.aws_region,
  credentials: {accessKeyId: creds.aws_access_key_id, secretAccessKey: secret}});
const lambda = client(creds.aws_secret_access_key);
(async () => {
  const out = {};
  const created = await lambda.send(new CreateFunctionCommand({FunctionName: 'nodeinfo', Runtime: 'provided.al2023',
    Role: 'arn:aws:iam::123456789012:role/js-client', Handler: 'bootstrap', MemorySize: 256, Timeout: 30,
    Code: {ZipFile: fs.readFileSync(process.env.ZIP)}}));
  out.created = created.FunctionArn;
  await waitUntilFunctionActiveV2({client: lambda, maxWaitTime: 60}, {FunctionName: 'nodeinfo'});
  const invoked = await lambda.send(new InvokeCommand({FunctionName: 'nodeinfo', LogType: 'Tail',
    Payload: Buffer.from(JSON.stringify({from: 'the js client'}))}));
  out.status = invoked.StatusCode;
  out.functionError = invoked.FunctionError || '';
  out.result = JSON.parse(Buffer.from(invoked.Payload).toString());
  out.log = Buffer.from(invoked.LogResult, 'base64').toString();
  const got = await lambda.send(new GetFunctionCommand({FunctionName: 'nodeinfo'}));
  out.state = got.Configuration.State;
  out.memory = got.Configuration.MemorySize;
  try {
    await client('not-the-secret').send(new InvokeCommand({FunctionName: 'nodeinfo'}));
    out.forged = 'accepted';
  } catch (e) { out.forged = e.name; }
  await lambda.send(new DeleteFunctionCommand({FunctionName: 'nodeinfo'}));
  try {
    await lambda.send(new GetFunctionCommand({FunctionName: 'nodeinfo'}));
    out.afterDelete = 'still there';
  } catch (e) { out.afterDelete = e.name; }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e.name + ': ' + (e.message || e)); process.exit(1); });
`

// reportLine is a cold start's REPORT line, as Lambda writes it.
var reportLine = regexp.MustCompile(`REPORT RequestId: \S+\tDuration: [0-9.]+ ms\tBilled Duration: [0-9]+ ms\tMemory Size: 256 MB\tMax Memory Used: [1-9][0-9]* MB\tInit Duration: [0-9.]+ ms`)

// The standalone fabric serves Lambda to a client nobody here wrote, the AWS SDK for
// JavaScript v3, with the credentials it wrote for its user: FedKeeper's Go bootstrap
// (functions/lambda on aws-lambda-go) runs as nodeinfo under the Runtime API.
func TestStandaloneFabricServesTheAWSJavaScriptClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newStandalone(ctx, t)
	zipFile := s.function(ctx, t, pack.LambdaZip, "lambda")
	data := filepath.Join(s.work, "data")
	startAndWait(t, exec.CommandContext(ctx, s.bin, "-addr", s.addr, "-data", data))
	out := jstest.Run(ctx, t, lambdaLifecycle, "CREDENTIALS="+filepath.Join(data, "credentials.json"), "ZIP="+zipFile)
	var seen struct {
		Created, FunctionError, Log, State, Forged, AfterDelete string
		Status, Memory                                          int
		Result                                                  struct {
			Hostname string            `json:"hostname"`
			Echo     map[string]string `json:"echo"`
		}
	}
	if err := json.Unmarshal([]byte(out), &seen); err != nil {
		t.Fatalf("the client printed %q: %v", out, err)
	}
	if seen.Created != "arn:aws:lambda:us-east-1:000000000000:function:nodeinfo" || seen.State != "Active" || seen.Memory != 256 {
		t.Errorf("created %q, state %q, memory %d", seen.Created, seen.State, seen.Memory)
	}
	if seen.Status != 200 || seen.FunctionError != "" || seen.Result.Hostname == "" || seen.Result.Echo["from"] != "the js client" {
		t.Errorf("invoke: HTTP %d, function error %q, result %+v", seen.Status, seen.FunctionError, seen.Result)
	}
	if !reportLine.MatchString(seen.Log) {
		t.Errorf("the log tail has no REPORT line with an Init Duration:\n%s", seen.Log)
	}
	if seen.Forged != "InvalidSignatureException" {
		t.Errorf("a call signed with a wrong secret got %q, want InvalidSignatureException", seen.Forged)
	}
	if seen.AfterDelete != "ResourceNotFoundException" {
		t.Errorf("GetFunction after DeleteFunction: %q, want ResourceNotFoundException", seen.AfterDelete)
	}
}
