package process

import "testing"

// statusText is /proc/<pid>/status as Linux writes it, cut to the lines around the
// ones read.
const statusText = `Name:	python3
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
PPid:	4000
TracerPid:	0
VmPeak:	  900100 kB
VmSize:	  899000 kB
VmHWM:	  360448 kB
VmRSS:	  315392 kB
RssAnon:	  200000 kB
RssFile:	  115392 kB
Threads:	3
`

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Status
		wantErr bool
	}{
		{name: "a process", text: statusText,
			want: Status{PPid: 4000, PeakRSS: 360448 * 1024, RSS: 315392 * 1024, RSSFile: 115392 * 1024, Threads: 3}},
		// VmPeak is the address space, not the resident set: it must not be taken.
		{name: "only the high-water mark", text: "PPid:\t1\nVmPeak:\t 999 kB\nVmHWM:\t 8 kB\n", want: Status{PPid: 1, PeakRSS: 8192}},
		{name: "a zombie has no memory", text: "Name:\tx\nState:\tZ (zombie)\nPPid:\t1\nThreads:\t1\n", wantErr: true},
		{name: "no parent", text: "VmHWM:\t 8 kB\n", wantErr: true},
		{name: "not in kB", text: "PPid:\t1\nVmHWM:\t 8 MB\n", wantErr: true},
		{name: "not a number", text: "PPid:\t1\nVmHWM:\t eight kB\n", wantErr: true},
		{name: "a bad parent", text: "PPid:\tone\nVmHWM:\t 8 kB\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStatus(tc.text)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %t", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
