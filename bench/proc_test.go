package bench

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestParseProcCPU(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    time.Duration
		wantErr bool
	}{
		// utime 150 and stime 25 ticks of 1/100 s.
		{name: "plain", text: "4242 (exec) S 4000 4242 24855 0 -1 4194304 100 0 0 0 150 25 0 0 20 0 7 0 1025784 3133440 391",
			want: 1750 * time.Millisecond},
		// A command name may hold spaces and parentheses: the fields count from the last ')'.
		{name: "odd name", text: "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 6 7", want: 70 * time.Millisecond},
		{name: "too short", text: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 3", wantErr: true},
		{name: "no name", text: "7 x R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", wantErr: true},
		{name: "not ticks", text: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 3 four 0 0 20", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProcCPU(tc.text)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %v, %v; want %v (error %t)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestChildren(t *testing.T) {
	proc := t.TempDir()
	stat := "4242 (x) S 4000 1 1 0 -1 0 0 0 0 0 100 0 0 0 20 0 1 0 5 6 7"
	write := func(pid, name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("4242", "status", "Name:\tpython3\nPPid:\t4000\nVmHWM:\t  360448 kB\nVmRSS:\t  315392 kB\n") // a child of 4000
	write("4242", "cmdline", "/usr/bin/python3\x00-u\x00/d/actions/guest/pytorch_client/1/__main__.py\x00main\x00")
	write("4242", "stat", stat)
	write("4300", "status", "PPid:\t1\nVmHWM:\t 8 kB\n") // someone else's
	write("4300", "cmdline", "other\x00")
	write("4300", "stat", stat)
	write("4301", "status", "PPid:\t4000\nState:\tZ (zombie)\n") // an exited child
	write("4302", "status", "PPid:\t4000\nVmHWM:\t 8 kB\n")      // gone before its cmdline was read
	write("self", "status", "PPid:\t4000\nVmHWM:\t 8 kB\n")      // not a process id

	got, err := Children(proc, 4000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PID != 4242 || got[0].Status.PeakRSS != 360448*1024 || got[0].CPU != time.Second ||
		!slices.Equal(got[0].Args, []string{"/usr/bin/python3", "-u", "/d/actions/guest/pytorch_client/1/__main__.py", "main"}) {
		t.Errorf("children of 4000: %+v, want only 4242 with its command line, VmHWM and 1 s of CPU", got)
	}
	if _, err := Children(filepath.Join(proc, "missing"), 4000); err == nil {
		t.Error("no /proc: no error")
	}
}

func TestRunsAction(t *testing.T) {
	tests := []struct {
		args   []string
		action string
		want   bool
	}{
		{[]string{"/tmp/b/clients/data/openwhisk/local/actions/guest/fl_client/1/exec"}, "fl_client", true},
		{[]string{"/usr/bin/python3", "-u", "/x/fabric_actionloop.py", "/d/actions/guest/pytorch_client/3/__main__.py", "main"}, "pytorch_client", true},
		{[]string{"/usr/bin/python3", "-u", "/x/fabric_actionloop.py", "/d/actions/guest/pytorch_client/3/__main__.py", "main"}, "fl_client", false},
		{[]string{"/d/actions/guest/fl_client_v2/1/exec"}, "fl_client", false},   // another action whose name starts alike
		{[]string{"/d/actions/fl_client/guest/1/exec"}, "fl_client", false},      // the name where the namespace goes
		{[]string{"/d/fl_client/guest/fl_client/1/exec"}, "fl_client", false},    // not under actions/
		{[]string{"/d/actions/guest/fl_client/latest/exec"}, "fl_client", false}, // no generation
		{[]string{"/d/actions/guest/fl_client/1"}, "fl_client", false},           // the folder, not a file in it
		{nil, "fl_client", false},
	}
	for _, tc := range tests {
		if got := RunsAction(tc.args, tc.action); got != tc.want {
			t.Errorf("RunsAction(%q, %q) = %t, want %t", tc.args, tc.action, got, tc.want)
		}
	}
}

func TestInterpolateCPU(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	samples := []CPUSample{
		{At: t0, Process: 0, Functions: 0},
		{At: t0.Add(time.Second), Process: time.Second, Functions: 4 * time.Second},
		{At: t0.Add(2 * time.Second), Process: 3 * time.Second, Functions: 4 * time.Second},
	}
	tests := []struct {
		at         time.Duration
		proc, fns  time.Duration
		wantErrStr bool
	}{
		{250 * time.Millisecond, 250 * time.Millisecond, time.Second, false},
		{1500 * time.Millisecond, 2 * time.Second, 4 * time.Second, false},
		{time.Second, time.Second, 4 * time.Second, false},
		{-time.Millisecond, 0, 0, true},
		{3 * time.Second, 0, 0, true},
	}
	for _, tc := range tests {
		got, err := interpolate(samples, t0.Add(tc.at))
		if (err != nil) != tc.wantErrStr || (err == nil && (got.Process != tc.proc || got.Functions != tc.fns)) {
			t.Errorf("at %v: %+v, %v; want %v and %v", tc.at, got, err, tc.proc, tc.fns)
		}
	}
}
