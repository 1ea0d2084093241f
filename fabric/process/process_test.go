package process

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as the function: started by a test, this binary behaves as
// PROCESS_TEST_MODE says.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCESS_TEST_MODE") {
	case "":
		os.Exit(m.Run())
	case "echo":
		echo()
	case "spawn":
		// A child that outlives this process unless its group is killed, holding the
		// log pipes open.
		child := exec.Command(os.Args[0])
		child.Env = []string{"PROCESS_TEST_MODE=sleep"}
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintln(os.NewFile(3, "answers"), "started")
		time.Sleep(time.Hour)
	case "sleep":
		time.Sleep(time.Hour)
	}
}

// echo logs each request line on both streams, the last time without a newline, and
// only then answers on fd 3, as a function logs before it answers.
func echo() {
	answers := os.NewFile(3, "answers")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := in.Text()
		fmt.Printf("out %s\n", line)
		fmt.Fprintf(os.Stderr, "err %s", line)
		if line != "last" {
			fmt.Fprintln(os.Stderr)
		}
		fmt.Fprintln(answers, "done")
	}
}

func start(t *testing.T, mode string) (*Process, *bufio.Scanner) {
	t.Helper()
	answersR, answersW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(Command{Path: os.Args[0], Env: []string{"PROCESS_TEST_MODE=" + mode}, Stdin: true, ExtraFiles: []*os.File{answersW}})
	answersW.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); answersR.Close() })
	return p, bufio.NewScanner(answersR)
}

// Each activation gets exactly the lines written before its answer, however the
// readers are scheduled: the end markers come right behind them in each pipe.
func TestEndActivationFramesTheLines(t *testing.T) {
	p, answers := start(t, "echo")
	tests := []struct {
		request string
		want    []string
	}{
		{"first", []string{"stdout: out first", "stderr: err first"}},
		{"second", []string{"stdout: out second", "stderr: err second"}},
		{"last", []string{"stdout: out last", "stderr: err last"}}, // no newline before the marker
	}
	for _, tc := range tests {
		t.Run(tc.request, func(t *testing.T) {
			if _, err := fmt.Fprintln(p.Stdin(), tc.request); err != nil {
				t.Fatal(err)
			}
			if !answers.Scan() {
				t.Fatal("no answer")
			}
			got := p.EndActivation(context.Background())
			var streams []string
			for _, line := range got {
				_, rest, _ := strings.Cut(line, " ") // the timestamp
				streams = append(streams, rest)
			}
			slices.Sort(streams)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(streams, want) {
				t.Errorf("lines %q, want %q", got, tc.want)
			}
		})
	}
}

// Kill ends what the function started too: a child holding the log pipes would keep
// the process from ever counting as exited.
func TestKillEndsTheProcessGroup(t *testing.T) {
	p, answers := start(t, "spawn")
	if !answers.Scan() {
		t.Fatal("no answer")
	}
	if !p.Alive() {
		t.Fatalf("exited early: %q", p.Logs())
	}
	p.Kill() // returns only once both log pipes are closed by every holder
	if p.Alive() {
		t.Error("alive after Kill")
	}
}
