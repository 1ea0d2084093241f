package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Requests signed by AWS's own SigV4 signer are admitted when they carry the
// configured key's signature for the region and service, and refused when anything
// signed was changed, when the key, secret, region or service differ, or when the
// request is dated outside the allowed skew.
func TestSigV4AdmitsWhatAWSSignsAndNothingElse(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cred := SigV4{AccessKeyID: "AKIAFABRIC", SecretAccessKey: "fabric-secret", Region: "eu-west-1", Service: "lambda",
		Now: func() time.Time { return now }}
	var admitted []bool
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admitted = append(admitted, cred.Admits(r))
		body, _ := io.ReadAll(r.Body) // the handler still gets the body
		bodies = append(bodies, string(body))
	}))
	defer srv.Close()
	type request struct {
		method, path, body string
	}
	sign := func(req request, key, secret, region, service string, at time.Time) *http.Request {
		r, err := http.NewRequest(req.method, srv.URL+req.path, strings.NewReader(req.body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(req.body))
		creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, region, at); err != nil {
			t.Fatal(err)
		}
		return r
	}
	create := request{"POST", "/2015-03-31/functions", `{"FunctionName":"fl_client"}`}
	invoke := request{"POST", "/2015-03-31/functions/arn:aws:lambda:eu-west-1:000000000000:function:fl_client/invocations?Qualifier=%24LATEST", `{"round":1}`}
	get := request{"GET", "/2015-03-31/functions/fl_client?Qualifier=1", ""}
	tampered := sign(create, "AKIAFABRIC", "fabric-secret", "eu-west-1", "lambda", now)
	tampered.Body = io.NopCloser(bytes.NewReader([]byte(`{"FunctionName":"something_else"}`)))
	tampered.ContentLength = int64(len(`{"FunctionName":"something_else"}`))
	retargeted := sign(get, "AKIAFABRIC", "fabric-secret", "eu-west-1", "lambda", now)
	retargeted.URL.RawQuery = "Qualifier=2"
	tests := []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"a signed POST", sign(create, "AKIAFABRIC", "fabric-secret", "eu-west-1", "lambda", now), true},
		{"an ARN in the path, a query", sign(invoke, "AKIAFABRIC", "fabric-secret", "eu-west-1", "lambda", now), true},
		{"a signed GET", sign(get, "AKIAFABRIC", "fabric-secret", "eu-west-1", "lambda", now.Add(-10*time.Minute)), true},
		{"the body changed", tampered, false},
		{"the query changed", retargeted, false},
		{"another secret", sign(create, "AKIAFABRIC", "guessed", "eu-west-1", "lambda", now), false},
		{"another key", sign(create, "AKIAOTHER", "fabric-secret", "eu-west-1", "lambda", now), false},
		{"another region", sign(create, "AKIAFABRIC", "fabric-secret", "us-east-1", "lambda", now), false},
		{"another service", sign(create, "AKIAFABRIC", "fabric-secret", "eu-west-1", "s3", now), false},
		{"signed 20 minutes ago", sign(create, "AKIAFABRIC", "fabric-secret", "eu-west-1", "lambda", now.Add(-20*time.Minute)), false},
		{"unsigned", func() *http.Request { r, _ := http.NewRequest("GET", srv.URL+get.path, nil); return r }(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			admitted, bodies = nil, nil
			resp, err := http.DefaultClient.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(admitted) != 1 || admitted[0] != tc.want {
				t.Fatalf("admitted %v, want %t", admitted, tc.want)
			}
			if tc.want && tc.req.Method == "POST" && bodies[0] == "" {
				t.Error("the handler got no body after the check")
			}
		})
	}
	if (SigV4{AccessKeyID: "AKIAFABRIC", Region: "eu-west-1", Service: "lambda"}).Admits(sign(create, "AKIAFABRIC", "", "eu-west-1", "lambda", time.Now())) {
		t.Error("an empty secret admitted a request")
	}
}
