// Package nodeinfo is the cluster-test function of the seed's deploy.py: it reports
// what the platform gave it (host, processors, memory, runtime and platform variables),
// so a deployment can be checked end to end without training anything.
package nodeinfo

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Info is the function's result.
type Info struct {
	Hostname   string            `json:"hostname"`
	OS         string            `json:"os"`
	Arch       string            `json:"arch"`
	CPUs       int               `json:"cpus"`
	GoMaxProcs int               `json:"gomaxprocs"`
	GoVersion  string            `json:"go_version"`
	MemTotalKB int64             `json:"mem_total_kb,omitempty"`
	PID        int               `json:"pid"`
	Time       time.Time         `json:"time"`
	Platform   map[string]string `json:"platform"`
	Echo       json.RawMessage   `json:"echo,omitempty"`
}

// platformPrefixes select the environment variables that describe the platform
// (never the whole environment, which may hold credentials).
var platformPrefixes = []string{"__OW_NAMESPACE", "__OW_ACTION_NAME", "__OW_ACTION_VERSION", "__OW_ACTIVATION_ID",
	"FUNCTION_TARGET", "K_SERVICE", "K_REVISION", "FUNCTION_NAME", "FUNCTION_REGION", "GCP_PROJECT", "OPENFAAS_FUNCTION"}

// Handle answers with the node's description and echoes the parameters back.
func Handle(_ context.Context, params json.RawMessage) (any, error) {
	host, _ := os.Hostname()
	info := Info{
		Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		GoMaxProcs: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), PID: os.Getpid(),
		Time: time.Now().UTC(), Platform: map[string]string{}, MemTotalKB: memTotal(),
	}
	for _, kv := range os.Environ() {
		key, value, _ := strings.Cut(kv, "=")
		for _, p := range platformPrefixes {
			if key == p {
				info.Platform[key] = value
			}
		}
	}
	if len(params) > 0 && string(params) != "{}" && json.Valid(params) {
		info.Echo = params
	}
	return info, nil
}

func memTotal() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			var kb int64
			for _, c := range fields[1] {
				kb = kb*10 + int64(c-'0')
			}
			return kb
		}
	}
	return 0
}

// Keys lists the platform variables nodeinfo reports, for documentation and tests.
func Keys() []string {
	out := append([]string(nil), platformPrefixes...)
	sort.Strings(out)
	return out
}
