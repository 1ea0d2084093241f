package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/fabric/process"
)

// ProcStatus is what the bench reads of a process's /proc/<pid>/status (see
// process.Status, where the parser lives for the fabric's platforms too).
type ProcStatus = process.Status

// ParseProcStatus is process.ParseStatus.
func ParseProcStatus(text string) (ProcStatus, error) { return process.ParseStatus(text) }

// userHZ is the unit of the CPU times in /proc/<pid>/stat: Linux reports them in
// ticks of 1/100 s (USER_HZ) whatever the kernel's own tick rate.
const userHZ = 100

// ParseProcCPU reads the CPU time (user + system) from the text of /proc/<pid>/stat.
func ParseProcCPU(text string) (time.Duration, error) {
	_, cpu, err := ParseProcStat(text)
	return cpu, err
}

// ParseProcStat reads the parent's pid and the CPU time (user + system) from the text
// of /proc/<pid>/stat. The command name, in parentheses, may hold spaces and
// parentheses itself, so the fields are counted from the last ')'.
func ParseProcStat(text string) (ppid int, cpu time.Duration, err error) {
	end := strings.LastIndexByte(text, ')')
	if end < 0 {
		return 0, 0, errors.New("bench: /proc stat has no command name")
	}
	// After the name come state (field 3), ppid (4), … utime (14) and stime (15).
	fields := strings.Fields(text[end+1:])
	const parent, utime, stime = 4 - 3, 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, 0, fmt.Errorf("bench: /proc stat has %d fields after the command name, want > %d", len(fields), stime)
	}
	if ppid, err = strconv.Atoi(fields[parent]); err != nil {
		return 0, 0, fmt.Errorf("bench: /proc stat parent %q is not a pid", fields[parent])
	}
	var ticks int64
	for _, f := range []string{fields[utime], fields[stime]} {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("bench: /proc stat CPU time %q is not a tick count", f)
		}
		ticks += n
	}
	return ppid, time.Duration(ticks) * time.Second / userHZ, nil
}

// Process is a live process as /proc describes it.
type Process struct {
	PID    int
	Args   []string // its command line, the program first
	Status ProcStatus
	CPU    time.Duration
}

// Children lists the live child processes of parent found in procDir (/proc): the
// local fabric starts each function process itself, so a fabric running inside this
// process makes its functions this process's children. A process that exits while
// the list is read is left out.
func Children(procDir string, parent int) ([]Process, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("bench: list processes (the peak RSS is read from Linux's /proc): %w", err)
	}
	var children []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		p, ok, err := readChild(filepath.Join(procDir, e.Name()), pid, parent)
		if err != nil {
			return nil, err
		}
		if ok {
			children = append(children, p)
		}
	}
	return children, nil
}

// readChild reads the process in dir if it is a child of parent; ok is false for any
// other process and for one that is gone (or no longer has memory: a zombie).
func readChild(dir string, pid, parent int) (p Process, ok bool, err error) {
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return p, false, ignoreGone(err)
	}
	st, err := ParseProcStatus(string(status))
	if err != nil || st.PPid != parent {
		// Not a child, or an exited one whose status lacks its memory.
		return p, false, nil
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return p, false, ignoreGone(err)
	}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return p, false, ignoreGone(err)
	}
	cpu, err := ParseProcCPU(string(stat))
	if err != nil {
		return p, false, fmt.Errorf("process %d: %w", pid, err)
	}
	args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
	return Process{PID: pid, Args: args, Status: st, CPU: cpu}, true, nil
}

// ignoreGone drops the error of reading a process that has exited meanwhile.
func ignoreGone(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrProcessDone) || strings.Contains(err.Error(), "no such process") {
		return nil
	}
	return fmt.Errorf("bench: read a process: %w", err)
}

// RunsAction reports whether a fabric process with these arguments serves the
// OpenWhisk action: the fabric unpacks an action's code into a folder
// …/actions/<namespace>/<action>/<generation>/ and runs it from there (a Go action's
// exec, a Python action's __main__.py as the launcher's argument).
func RunsAction(args []string, action string) bool {
	for _, arg := range args {
		parts := strings.Split(filepath.ToSlash(arg), "/")
		// actions, namespace, action, generation, file.
		for i := 0; i+4 < len(parts); i++ {
			if parts[i] == "actions" && parts[i+2] == action {
				if _, err := strconv.Atoi(parts[i+3]); err == nil {
					return true
				}
			}
		}
	}
	return false
}
