package lambda

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestParseLogTail(t *testing.T) {
	tail := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name string
		tail string
		want Report
		ok   bool
	}{
		{"cold start", tail("START RequestId: r1 Version: $LATEST\nepoch 1\nEND RequestId: r1\n" +
			"REPORT RequestId: r1\tDuration: 1234.56 ms\tBilled Duration: 1235 ms\tMemory Size: 512 MB\tMax Memory Used: 87 MB\tInit Duration: 210.25 ms\t\n"),
			Report{RequestID: "r1", Duration: 1234560 * time.Microsecond, BilledDuration: 1235 * time.Millisecond, MemorySizeMB: 512,
				MaxMemoryMB: 87, InitDuration: 210250 * time.Microsecond, Cold: true}, true},
		{"warm, with X-Ray fields after", tail("REPORT RequestId: r2\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\nXRAY TraceId: 1-abc\tSegmentId: def\tSampled: true\n"),
			Report{RequestID: "r2", Duration: 3 * time.Millisecond, BilledDuration: 3 * time.Millisecond, MemorySizeMB: 128, MaxMemoryMB: 40}, true},
		{"no REPORT line", tail("START RequestId: r3\nlots of output\n"), Report{}, false},
		{"not base64", "%%%", Report{}, false},
		{"no tail", "", Report{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseLogTail(tc.tail)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
