// Package logging builds the binaries' slog loggers and quiets chatty components.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
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
	return slog.New(filter{base: l.Handler(), min: min})
}

// filter drops records below min. It applies the attributes and groups a logger was
// scoped with only to records that pass: FerretDB scopes a logger for every SQL
// statement, and a text handler formats those attributes at once, which cost the
// embedded store more CPU than some of its statements.
type filter struct {
	base  slog.Handler
	min   slog.Level
	scope []scopeStep
}

// scopeStep is one WithGroup (group set) or WithAttrs call, in order.
type scopeStep struct {
	group string
	attrs []slog.Attr
}

func (f filter) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= f.min && f.base.Enabled(ctx, level)
}

func (f filter) Handle(ctx context.Context, r slog.Record) error {
	h := f.base
	for _, step := range f.scope {
		if step.group != "" {
			h = h.WithGroup(step.group)
		} else {
			h = h.WithAttrs(step.attrs)
		}
	}
	return h.Handle(ctx, r)
}

func (f filter) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return f
	}
	return filter{f.base, f.min, append(slices.Clip(f.scope), scopeStep{attrs: slices.Clone(attrs)})}
}

func (f filter) WithGroup(name string) slog.Handler {
	if name == "" {
		return f
	}
	return filter{f.base, f.min, append(slices.Clip(f.scope), scopeStep{group: name})}
}
