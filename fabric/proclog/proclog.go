// Package proclog gathers a function process's output lines in OpenWhisk's log format
// ("TIMESTAMP STREAM: line"), so each activation can take the lines written during it.
// Activations are framed as OpenWhisk frames them: after each one the runtime writes
// the end marker to every stream, and the lines before the marker are the activation's.
package proclog

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// EndMarker is the line OpenWhisk's runtimes write after every activation; it frames
// the logs and is not kept.
const EndMarker = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// maxLines bounds what one activation keeps.
const maxLines = 1000

// Buffer collects lines from one or more streams. The zero Buffer is ready to use.
type Buffer struct {
	mu    sync.Mutex
	lines []string
	// marks counts the end markers read on each stream; changed is closed (and
	// replaced) whenever a count grows, waking Await.
	marks   map[string]int
	changed chan struct{}
}

// Collect reads r line by line until it closes, then calls wg.Done. A line ending in
// the end marker counts as a marker on stream; what stood before the marker on that
// line (a last line the function left without a newline) is kept.
func (b *Buffer) Collect(r io.Reader, stream string, wg *sync.WaitGroup) {
	defer wg.Done()
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		text, marked := strings.CutSuffix(scanner.Text(), EndMarker)
		if text != "" || !marked {
			b.add(stream, text)
		}
		if marked {
			b.mark(stream)
		}
	}
}

func (b *Buffer) add(stream, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) < maxLines {
		b.lines = append(b.lines, fmt.Sprintf("%s %s: %s", time.Now().UTC().Format(time.RFC3339Nano), stream, text))
	}
}

// Text is what the function wrote on a gathered line, without the timestamp and stream
// the Buffer put before it (as a platform that shows bare lines, CloudWatch, shows it);
// a line not of that form is returned whole.
func Text(line string) string {
	stamp, rest, ok := strings.Cut(line, " ")
	if _, err := time.Parse(time.RFC3339Nano, stamp); !ok || err != nil {
		return line
	}
	stream, text, ok := strings.Cut(rest, ": ")
	if !ok || strings.Contains(stream, " ") {
		return line
	}
	return text
}

func (b *Buffer) mark(stream string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.marks == nil {
		b.marks = map[string]int{}
	}
	b.marks[stream]++
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
}

// Await waits until every one of streams has shown at least n end markers, or done
// closes (the process is gone and its streams read to the end), or ctx ends; either
// way the lines gathered so far are what the caller takes next.
func (b *Buffer) Await(ctx context.Context, n int, done <-chan struct{}, streams ...string) {
	for {
		b.mu.Lock()
		ready := true
		for _, s := range streams {
			ready = ready && b.marks[s] >= n
		}
		if ready {
			b.mu.Unlock()
			return
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-done:
			return
		case <-ctx.Done():
			return
		}
	}
}

// Take returns the lines gathered since the last Take.
func (b *Buffer) Take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines
	b.lines = nil
	return lines
}
