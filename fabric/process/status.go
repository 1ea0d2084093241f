package process

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Status is what the fabric and the bench read of a process's /proc/<pid>/status.
type Status struct {
	PPid int
	// PeakRSS is the resident set's high-water mark (VmHWM), RSS its current size
	// (VmRSS), in bytes: what a platform's memory limit holds the function to. RSSFile
	// is the part of RSS mapped from files (RssFile: shared libraries, torch's).
	PeakRSS, RSS, RSSFile int64
	Threads               int
}

// ParseStatus reads the fields of Status from the text of /proc/<pid>/status.
// A process without a VmHWM line (a zombie, a kernel thread) has no memory to report,
// which is an error.
func ParseStatus(text string) (Status, error) {
	var st Status
	var seen struct{ ppid, hwm bool }
	for line := range strings.Lines(text) {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		var err error
		switch key {
		case "PPid":
			st.PPid, err = strconv.Atoi(value)
			seen.ppid = err == nil
		case "Threads":
			st.Threads, err = strconv.Atoi(value)
		case "VmHWM":
			st.PeakRSS, err = kilobytes(value)
			seen.hwm = err == nil
		case "VmRSS":
			st.RSS, err = kilobytes(value)
		case "RssFile":
			st.RSSFile, err = kilobytes(value)
		}
		if err != nil {
			return st, fmt.Errorf("process: /proc status %s: %w", key, err)
		}
	}
	switch {
	case !seen.ppid:
		return st, errors.New("process: /proc status has no PPid")
	case !seen.hwm:
		return st, errors.New("process: /proc status has no VmHWM (not a process with memory of its own)")
	}
	return st, nil
}

// kilobytes reads a /proc size ("123456 kB", where kB is 1,024 bytes) as bytes.
func kilobytes(value string) (int64, error) {
	number, unit, _ := strings.Cut(value, " ")
	if strings.TrimSpace(unit) != "kB" {
		return 0, fmt.Errorf("size %q is not in kB", value)
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: not a count of kB", value)
	}
	return n * 1024, nil
}

// Status reads the process's /proc/<pid>/status while it runs: its memory's
// high-water mark is what Lambda's REPORT line calls Max Memory Used.
func (p *Process) Status() (Status, error) {
	text, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return Status{}, fmt.Errorf("process: %w", err)
	}
	return ParseStatus(string(text))
}
