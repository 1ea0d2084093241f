// Package logging builds the binaries' slog loggers and quiets chatty components.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a text (or JSON) logger at the named level: debug, info, warn or error.
func New(w io.Writer, level string, json bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(strings.TrimSpace(level)))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// AtLeast passes on only records of min or above, for components whose routine
// messages would drown the user's view.
func AtLeast(l *slog.Logger, min slog.Level) *slog.Logger {
	return slog.New(filter{l.Handler(), min})
}

type filter struct {
	slog.Handler
	min slog.Level
}

func (f filter) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= f.min && f.Handler.Enabled(ctx, level)
}

func (f filter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return filter{f.Handler.WithAttrs(attrs), f.min}
}

func (f filter) WithGroup(name string) slog.Handler {
	return filter{f.Handler.WithGroup(name), f.min}
}
