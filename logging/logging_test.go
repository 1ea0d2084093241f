package logging

import (
	"bytes"
	"log/slog"
	"testing"
)

// countingValue counts how often a handler resolves it.
type countingValue struct{ n *int }

func (c countingValue) LogValue() slog.Value {
	*c.n++
	return slog.StringValue("resolved")
}

// A filtered logger writes what the plain one writes for the records it passes, with
// the same scope, and does no work for a scope whose records it drops.
func TestAtLeastScopesOnlyTheRecordsItPasses(t *testing.T) {
	var plainOut, filteredOut bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	plain := slog.New(slog.NewTextHandler(&plainOut, opts))
	filtered := AtLeast(slog.New(slog.NewTextHandler(&filteredOut, opts)), slog.LevelWarn)
	resolved := 0
	scope := func(l *slog.Logger) *slog.Logger {
		return l.With("a", 1).WithGroup("g").With("b", countingValue{&resolved})
	}
	scope(filtered).Info("dropped")
	if resolved != 0 || filteredOut.Len() != 0 {
		t.Fatalf("a dropped record's scope was resolved %d times, output %q", resolved, filteredOut.String())
	}
	for _, l := range []*slog.Logger{plain, filtered} {
		scope(l).Warn("kept", "c", 2)
		l.Error("bare")
	}
	if plainOut.String() != filteredOut.String() {
		t.Errorf("filtered logger wrote\n%s\nthe plain one\n%s", filteredOut.String(), plainOut.String())
	}
}
