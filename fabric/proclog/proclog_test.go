package proclog

import (
	"strings"
	"sync"
	"testing"
)

// TestTextUndoesTheFormat: what Collect gathers, Text gives back as it was written.
func TestTextUndoesTheFormat(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	b.Collect(strings.NewReader("training: epoch 1\nloss: 0.3 ok\n"), "stdout", &wg)
	var got []string
	for _, line := range b.lines {
		got = append(got, Text(line))
	}
	if want := []string{"training: epoch 1", "loss: 0.3 ok"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Text of the gathered lines = %q, want %q", got, want)
	}
}

func TestTextOfOtherLines(t *testing.T) {
	tests := []struct{ line, want string }{
		{"2026-12-01T09:00:00Z stderr: a warning", "a warning"},
		{"2026-12-01T09:00:00Z stdout: ", ""},
		{"no prefix here", "no prefix here"},
		{"a line: with a colon", "a line: with a colon"},
		{"single", "single"},
	}
	for _, tc := range tests {
		if got := Text(tc.line); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}
