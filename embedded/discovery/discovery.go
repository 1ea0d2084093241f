// Package discovery records where a running embedded stack listens, in a file in the
// data directory, so that other processes (workers, a second starter) on the same
// machine find and join it. It is kept apart from the stack itself so those processes
// do not link the Temporal server.
package discovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/config"
)

// Endpoints are the addresses of a running stack. They include the fabric's generated
// credentials, so the file holding them is readable by its owner only.
type Endpoints struct {
	TemporalHostPort string                      `json:"temporal_host_port,omitempty"`
	TemporalAPIKey   string                      `json:"temporal_api_key,omitempty"`
	UIURL            string                      `json:"ui_url,omitempty"`
	DashboardURL     string                      `json:"dashboard_url,omitempty"`
	MongoURI         string                      `json:"mongo_uri,omitempty"`
	TensorDir        string                      `json:"tensor_dir,omitempty"`
	OpenWhisk        map[string]FabricEndpoint   `json:"openwhisk,omitempty"`
	Google           map[string]GoogleEndpoint   `json:"google,omitempty"`
	OpenFaaS         map[string]OpenFaaSEndpoint `json:"openfaas,omitempty"`
	AWS              map[string]AWSEndpoint      `json:"aws,omitempty"`
	PID              int                         `json:"pid"`
	Started          time.Time                   `json:"started"`
}

// FabricEndpoint is one embedded OpenWhisk cluster.
type FabricEndpoint struct {
	APIHost string `json:"api_host"`
	Auth    string `json:"auth"`
}

// GoogleEndpoint is one embedded Cloud Functions cluster.
type GoogleEndpoint struct {
	APIEndpoint string `json:"api_endpoint"`
	Token       string `json:"token"`
}

// OpenFaaSEndpoint is one embedded OpenFaaS gateway.
type OpenFaaSEndpoint struct {
	Gateway  string `json:"gateway"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// AWSEndpoint is one embedded AWS Lambda cluster: its endpoint and the generated key
// every call must be signed with.
type AWSEndpoint struct {
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	Role            string `json:"role"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// Needed reports whether the config asks for any embedded service.
func Needed(cfg *config.Config) bool {
	if config.IsEmbedded(cfg.Temporal.HostPort) || config.IsEmbedded(cfg.Scenarios.FederatedLearning.MongoConfig.URL) {
		return true
	}
	for _, c := range cfg.Providers.OpenWhisk {
		if config.IsEmbedded(c.Auth.OWAPIHost) {
			return true
		}
	}
	for _, c := range cfg.Providers.Google {
		if c.Embedded() {
			return true
		}
	}
	for _, c := range cfg.Providers.OpenFaaS {
		if c.Embedded() {
			return true
		}
	}
	for _, c := range cfg.Providers.AWS {
		if c.Embedded() {
			return true
		}
	}
	return false
}

// File is the endpoints file of a data directory.
func File(dataDir string) string { return filepath.Join(dataDir, "stack.json") }

// Write records endpoints, readable by the owner only (they hold the fabric's key).
func Write(file string, e Endpoints) error {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("discovery: record endpoints: %w", err)
	}
	return os.Rename(tmp, file)
}

// Read returns the endpoints recorded in a data directory, running or not (the zero
// value when none are): a stack that starts again reuses their ports and credentials,
// so processes that knew the old stack (workers that outlived a crash) find the new one
// where they left it. A damaged file is an error, not a fresh start: new credentials
// would lock those processes out.
func Read(dataDir string) (Endpoints, error) {
	file := File(dataDir)
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return Endpoints{}, nil
	}
	if err != nil {
		return Endpoints{}, fmt.Errorf("discovery: read %s: %w", file, err)
	}
	var e Endpoints
	if err := json.Unmarshal(data, &e); err != nil {
		return Endpoints{}, fmt.Errorf("discovery: %s is damaged (%v); it holds the embedded stack's ports and credentials, which running workers use: repair it, or delete it to start with new credentials (stop those workers first)", file, err)
	}
	return e, nil
}

// PortOf returns the port of an address or URL (0 if it has none).
func PortOf(addr string) int {
	addr = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://"), "mongodb://")
	if i := strings.IndexAny(addr, "/?"); i >= 0 {
		addr = addr[:i]
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n := 0
	fmt.Sscan(port, &n)
	return n
}

// Free reports whether a loopback port can be listened on.
func Free(port int) bool {
	if port <= 0 {
		return false
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Remove deletes the file if the process pid wrote it.
func Remove(file string, pid int) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var e Endpoints
	if json.Unmarshal(data, &e) == nil && e.PID == pid {
		_ = os.Remove(file)
	}
}

// ErrNoStack means no embedded stack is running for this data directory.
var ErrNoStack = errors.New("no embedded stack is running")

// Find reads the endpoints of a stack started by another process on this machine and
// checks that its services answer.
func Find(cfg *config.Config) (Endpoints, error) {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return Endpoints{}, err
	}
	data, err := os.ReadFile(File(dataDir))
	if err != nil {
		return Endpoints{}, fmt.Errorf("%w for data_dir %s: start one with `starter` (or `make run`), or configure the addresses", ErrNoStack, dataDir)
	}
	var e Endpoints
	if err := json.Unmarshal(data, &e); err != nil {
		return Endpoints{}, fmt.Errorf("discovery: %s: %w", File(dataDir), err)
	}
	for _, addr := range []string{e.TemporalHostPort, hostOf(e.MongoURI)} {
		if addr == "" {
			continue
		}
		network := "tcp"
		if socket, err := url.PathUnescape(addr); err == nil && strings.HasPrefix(socket, "/") {
			network, addr = "unix", socket
		}
		conn, err := net.DialTimeout(network, addr, 2*time.Second)
		if err != nil {
			return Endpoints{}, fmt.Errorf("%w: the stack recorded in %s (pid %d) does not answer at %s", ErrNoStack, dataDir, e.PID, addr)
		}
		conn.Close()
	}
	return e, nil
}

func hostOf(uri string) string {
	rest := strings.TrimPrefix(uri, "mongodb://")
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		return rest[:i]
	}
	return rest
}

// Apply fills the embedded services' addresses into a copy of the config.
func (e Endpoints) Apply(cfg *config.Config) *config.Config {
	out := *cfg
	if config.IsEmbedded(out.Temporal.HostPort) && e.TemporalHostPort != "" {
		out.Temporal.HostPort = e.TemporalHostPort
		// The embedded frontend listens on loopback only, where TLS would add nothing.
		out.Temporal.APIKey, out.Temporal.Plaintext = e.TemporalAPIKey, true
		if out.Temporal.WebUIURL == "" {
			out.Temporal.WebUIURL = e.UIURL
		}
		if out.Dashboard.ServedAt == "" {
			out.Dashboard.ServedAt = e.DashboardURL
		}
	}
	fl := out.Scenarios.FederatedLearning
	if config.IsEmbedded(fl.MongoConfig.URL) && e.MongoURI != "" {
		fl.MongoConfig.URL = e.MongoURI
		if fl.MongoConfig.TensorDir == "" {
			fl.MongoConfig.TensorDir = e.TensorDir
		}
	}
	out.Scenarios.FederatedLearning = fl
	clusters := make(map[string]config.OpenWhiskCluster, len(out.Providers.OpenWhisk))
	for name, c := range out.Providers.OpenWhisk {
		if ep, ok := e.OpenWhisk[name]; ok && config.IsEmbedded(c.Auth.OWAPIHost) {
			c.Auth.OWAPIHost, c.Auth.OWAuth = ep.APIHost, ep.Auth
			if c.Namespace == "" || c.Namespace == "_" {
				c.Namespace = "guest"
			}
		}
		clusters[name] = c
	}
	out.Providers.OpenWhisk = clusters
	google := make(map[string]config.GoogleCluster, len(out.Providers.Google))
	for name, c := range out.Providers.Google {
		if ep, ok := e.Google[name]; ok && c.Embedded() {
			c.APIEndpoint, c.AccessToken = ep.APIEndpoint, ep.Token
			if c.Project == "" {
				c.Project = "fedkeeper-local"
			}
		}
		google[name] = c
	}
	out.Providers.Google = google
	faas := make(map[string]config.OpenFaaSCluster, len(out.Providers.OpenFaaS))
	for name, c := range out.Providers.OpenFaaS {
		if ep, ok := e.OpenFaaS[name]; ok && c.Embedded() {
			c.Gateway, c.Auth.User, c.Auth.Password, c.LocalImages = ep.Gateway, ep.User, ep.Password, true
		}
		faas[name] = c
	}
	out.Providers.OpenFaaS = faas
	aws := make(map[string]config.AWSCluster, len(out.Providers.AWS))
	for name, c := range out.Providers.AWS {
		if ep, ok := e.AWS[name]; ok && c.Embedded() {
			// The fabric's own key, never the AWS environment's: a developer's real
			// credentials must not be sent to, or used on behalf of, the local fabric.
			c.Endpoint, c.Region, c.Role = ep.Endpoint, ep.Region, ep.Role
			c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Profile = ep.AccessKeyID, ep.SecretAccessKey, "", ""
		}
		aws[name] = c
	}
	out.Providers.AWS = aws
	return &out
}
