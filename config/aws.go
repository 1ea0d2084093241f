package config

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// roleARN is an IAM role's ARN, what Lambda runs a function as.
var roleARN = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)

// awsRegion is a region's id: us-east-1, eu-west-3, ap-southeast-2.
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)

// Lambda's bounds of a function's memory (MB) and time limit.
const (
	lambdaMinMemory, lambdaMaxMemory = 128, 10240
	lambdaMaxTimeout                 = 900 * time.Second
)

// validateAWS checks the AWS clusters and the functions' aws sections: a real account
// needs a region and the execution role's ARN; static credentials come in pairs;
// memory and time limits stay within Lambda's.
func (c *Config) validateAWS() error {
	for _, name := range slices.Sorted(maps.Keys(c.Providers.AWS)) {
		a, key := c.Providers.AWS[name], "providers.aws."+name
		region := a.Region
		if region == "" && a.Embedded() {
			region = "us-east-1"
		}
		if err := firstBroken([]rule{
			{!a.Embedded() && a.Region == "", key + ".region", "is missing: Lambda functions live in a region (us-east-1, eu-west-1, …)", nil},
			{!awsRegion.MatchString(region), key + ".region", "must be a region id such as us-east-1, got %q", []any{a.Region}},
			{!a.Embedded() && a.Role == "", key + ".role", "is missing: the execution role's ARN the functions run as (arn:aws:iam::ACCOUNT:role/NAME)", nil},
			{a.Role != "" && !roleARN.MatchString(a.Role), key + ".role", "must be an IAM role's ARN, arn:aws:iam::ACCOUNT:role/NAME, got %q", []any{a.Role}},
			{(a.AccessKeyID == "") != (a.SecretAccessKey == ""), key + ".secret_access_key", "access_key_id and secret_access_key go together (or leave both out for the AWS environment, shared files and profiles)", nil},
			{a.SessionToken != "" && a.AccessKeyID == "", key + ".session_token", "needs access_key_id and secret_access_key beside it", nil},
			{a.Endpoint != "" && a.Endpoint != Embedded && !strings.HasPrefix(a.Endpoint, "http://") && !strings.HasPrefix(a.Endpoint, "https://"), key + ".endpoint", "must be an http(s) URL or %q, got %q", []any{Embedded, a.Endpoint}},
		}); err != nil {
			return err
		}
	}
	f := c.Scenarios.FederatedLearning
	for _, name := range slices.Sorted(maps.Keys(f.Functions)) {
		a := f.Functions[name].AWS
		if a == nil {
			continue
		}
		key := fl + ".functions." + name + ".aws"
		timeout, err := a.TimeoutDuration()
		if err != nil {
			return keyErr(key+".timeout", "%v", err)
		}
		if err := firstBroken([]rule{
			{timeout > lambdaMaxTimeout, key + ".timeout", "must be at most 900s, Lambda's limit, got %s", []any{a.Timeout}},
			{a.Memory != 0 && (a.Memory < lambdaMinMemory || a.Memory > lambdaMaxMemory), key + ".memory", "must be %d to %d MB, Lambda's bounds, got %d", []any{lambdaMinMemory, lambdaMaxMemory, a.Memory}},
			{a.Runtime != "" && !strings.HasPrefix(a.Runtime, "provided.") && !strings.HasPrefix(a.Runtime, "python3."), key + ".runtime", "must be provided.al2023 (or provided.al2) for Go, or a python3.x runtime, got %q", []any{a.Runtime}},
			{a.Handler != "" && !strings.Contains(a.Handler, "."), key + ".handler", "must be module.function, got %q", []any{a.Handler}},
		}); err != nil {
			return err
		}
	}
	return nil
}
