package lambda

import (
	"bufio"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Report is what Lambda's REPORT line says of one invocation.
type Report struct {
	RequestID      string
	Duration       time.Duration
	BilledDuration time.Duration
	MemorySizeMB   int
	MaxMemoryMB    int
	// InitDuration is the cold start's init phase; zero on a warm instance, whose
	// REPORT line has no Init Duration.
	InitDuration time.Duration
	Cold         bool
}

// ParseLogTail reads the REPORT line out of an invocation's X-Amz-Log-Result (the last
// 4 KB of its log, base64). ok is false when the tail holds no REPORT line: the
// caller asked for no tail, or the function's own output pushed it out.
func ParseLogTail(encoded string) (Report, bool) {
	if encoded == "" {
		return Report{}, false
	}
	data, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return Report{}, false
	}
	var line string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if text := sc.Text(); strings.HasPrefix(text, "REPORT RequestId: ") {
			line = text
		}
	}
	if line == "" {
		return Report{}, false
	}
	return parseReport(line), true
}

// parseReport reads a REPORT line's tab-separated "Name: value unit" fields; fields
// it does not know (XRAY's, a SnapStart's Restore Duration) are skipped.
func parseReport(line string) Report {
	var r Report
	for _, field := range strings.Split(strings.TrimPrefix(line, "REPORT "), "\t") {
		name, value, ok := strings.Cut(strings.TrimSpace(field), ": ")
		if !ok {
			continue
		}
		switch name {
		case "RequestId":
			r.RequestID = value
		case "Duration":
			r.Duration = millis(value)
		case "Billed Duration":
			r.BilledDuration = millis(value)
		case "Memory Size":
			r.MemorySizeMB = megabytes(value)
		case "Max Memory Used":
			r.MaxMemoryMB = megabytes(value)
		case "Init Duration":
			r.InitDuration, r.Cold = millis(value), true
		}
	}
	return r
}

// millis reads "12.34 ms".
func millis(value string) time.Duration {
	ms, err := strconv.ParseFloat(strings.TrimSuffix(value, " ms"), 64)
	if err != nil {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// megabytes reads "256 MB".
func megabytes(value string) int {
	mb, _ := strconv.Atoi(strings.TrimSuffix(value, " MB"))
	return mb
}
