// Command fabric runs the local FaaS fabric on its own, like OpenWhisk standalone: by
// default on 127.0.0.1:3233 with namespace guest and the well-known guest key. The same
// listener serves the OpenWhisk REST API (/api/v1), the Cloud Functions v1 API (/v1 and
// the trigger URLs under /gcf), the OpenFaaS gateway (/system, /function,
// /async-function) and AWS Lambda's API (/2015-03-31/functions, SigV4). Credentials
// for the last three are generated unless given.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fedkeeper/fedkeeper/fabric"
	"github.com/fedkeeper/fedkeeper/fabric/gcf"
	"github.com/fedkeeper/fedkeeper/fabric/lambda"
	"github.com/fedkeeper/fedkeeper/fabric/openfaas"
	"github.com/fedkeeper/fedkeeper/fabric/openwhisk"
	"github.com/fedkeeper/fedkeeper/fabric/python"
	"github.com/fedkeeper/fedkeeper/logging"
)

func main() {
	os.Exit(run())
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// setFlags are the flags given on the command line.
func setFlags() map[string]bool {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// checkExposure refuses to serve beyond this machine with credentials anyone knows or
// nobody chose: the fabric runs whatever code it is sent, so an address that is not
// loopback needs every platform's credentials given explicitly (the default
// OpenWhisk key is OpenWhisk standalone's published one).
func checkExposure(addr, auth string, set map[string]bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	var missing []string
	for _, name := range []string{"auth", "gcf-token", "openfaas-password", "aws-secret-access-key"} {
		if !set[name] {
			missing = append(missing, "-"+name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("-addr %s is reachable from other machines, and the fabric runs the code it is sent: give %s explicitly (the defaults are the published OpenWhisk guest key and generated secrets), or listen on 127.0.0.1", addr, strings.Join(missing, ", "))
	}
	if auth == openwhisk.GuestAuth {
		return fmt.Errorf("-addr %s is reachable from other machines: -auth must not be OpenWhisk's published guest key", addr)
	}
	return nil
}

func run() int {
	addr := flag.String("addr", "127.0.0.1:3233", "address to listen on")
	dataDir := flag.String("data", ".fedkeeper/fabric-standalone", "folder for deployed code")
	namespace := flag.String("namespace", "guest", "OpenWhisk namespace")
	auth := flag.String("auth", openwhisk.GuestAuth, "OpenWhisk uuid:key")
	gcfToken := flag.String("gcf-token", "", "bearer token of the Cloud Functions API and triggers (generated when empty)")
	ofUser := flag.String("openfaas-user", "admin", "OpenFaaS gateway user")
	ofPassword := flag.String("openfaas-password", "", "OpenFaaS gateway password (generated when empty)")
	awsRegion := flag.String("aws-region", "us-east-1", "region of the Lambda API")
	awsKeyID := flag.String("aws-access-key-id", "", "access key id Lambda calls are signed with (generated when empty)")
	awsSecret := flag.String("aws-secret-access-key", "", "its secret (generated when empty)")
	containers := flag.Int("max-containers", 0, "function processes per platform at once (default 2 per core)")
	perMinute := flag.Int("invocations-per-minute", 0, "OpenWhisk invocations per minute before 429 (0: unlimited)")
	py := flag.String("python", python.DefaultInterpreter, "interpreter of the Python functions (Debian's packages import under /usr/bin/python3 only)")
	level := flag.String("log", "info", "log level")
	flag.Parse()

	logger, err := logging.New(os.Stderr, *level, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := checkExposure(*addr, *auth, setFlags()); err != nil {
		fmt.Fprintln(os.Stderr, "fabric:", err)
		return 2
	}
	if *gcfToken == "" {
		*gcfToken = random(24)
	}
	if *ofPassword == "" {
		*ofPassword = random(16)
	}
	if *awsKeyID == "" {
		*awsKeyID = "AKIA" + strings.ToUpper(random(8))
	}
	if *awsSecret == "" {
		*awsSecret = random(20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, err := fabric.Start(ctx, fabric.Options{
		Addr: *addr, DataDir: *dataDir, Logger: logger,
		OpenWhisk: &openwhisk.Options{Namespace: *namespace, Auth: *auth, MaxContainers: *containers,
			InvocationsPerMinute: *perMinute, Python: *py, Logger: logger},
		GCF:      &gcf.Options{Token: *gcfToken, MaxInstances: *containers, Python: *py, Logger: logger},
		OpenFaaS: &openfaas.Options{User: *ofUser, Password: *ofPassword, MaxInstances: *containers, Python: *py, Logger: logger},
		Lambda: &lambda.Options{AccessKeyID: *awsKeyID, SecretAccessKey: *awsSecret, Region: *awsRegion,
			MaxInstances: *containers, Python: *py, Logger: logger},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Stop()
	// Secrets go to a file only its owner reads, not to the terminal or the logs.
	creds := filepath.Join(*dataDir, "credentials.json")
	data, _ := json.MarshalIndent(map[string]string{
		"openwhisk_api_host": f.URL, "openwhisk_auth": *auth, "openwhisk_namespace": *namespace,
		"gcf_endpoint": f.URL + "/", "gcf_token": *gcfToken,
		"openfaas_gateway": f.URL, "openfaas_user": *ofUser, "openfaas_password": *ofPassword,
		"lambda_endpoint": f.URL, "aws_region": *awsRegion, "aws_access_key_id": *awsKeyID, "aws_secret_access_key": *awsSecret,
	}, "", "  ")
	if err := os.WriteFile(creds, data, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("local FaaS fabric on %s\n", f.URL)
	fmt.Printf("  OpenWhisk:       API host %s, namespace %s\n", f.URL, *namespace)
	fmt.Printf("  Cloud Functions: endpoint %s/ (any project and region; bearer token required)\n", f.URL)
	fmt.Printf("  OpenFaaS:        gateway %s (basic auth, user %s)\n", f.URL, *ofUser)
	fmt.Printf("  AWS Lambda:      endpoint %s, region %s (SigV4, access key %s)\n", f.URL, *awsRegion, *awsKeyID)
	fmt.Printf("  credentials:     %s\n", creds)
	fmt.Println("Ctrl-C stops it")
	<-ctx.Done()
	return 0
}
