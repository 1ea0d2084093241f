// Package proclog gathers a function process's output lines in OpenWhisk's log format
// ("TIMESTAMP STREAM: line"), so each activation can take the lines written during it.
package proclog

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"
)

// EndMarker is the line OpenWhisk's runtimes write after every activation; it frames
// the logs and is not kept.
const EndMarker = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// maxLines bounds what one activation keeps.
const maxLines = 1000

// Buffer collects lines from one or more streams.
type Buffer struct {
	mu    sync.Mutex
	lines []string
}

// Collect reads r line by line until it closes, then calls wg.Done.
func (b *Buffer) Collect(r io.Reader, stream string, wg *sync.WaitGroup) {
	defer wg.Done()
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		text := scanner.Text()
		if text == EndMarker {
			continue
		}
		b.mu.Lock()
		if len(b.lines) < maxLines {
			b.lines = append(b.lines, fmt.Sprintf("%s %s: %s", time.Now().UTC().Format(time.RFC3339Nano), stream, text))
		}
		b.mu.Unlock()
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
