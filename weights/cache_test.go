package weights

import (
	"fmt"
	"testing"
)

// The cache keeps what fits its bounds, dropping the oldest first, and forgets a
// group on request.
func TestContentCacheBoundsAndGroups(t *testing.T) {
	type put struct {
		name, group string
		size        int64
	}
	for _, tc := range []struct {
		name       string
		maxEntries int
		maxBytes   int64
		puts       []put
		drop       string
		want       string // the names kept, by get
	}{
		{name: "within bounds", maxEntries: 3, maxBytes: 100, puts: []put{{"a", "r1", 10}, {"b", "r1", 10}}, want: "[a b]"},
		{name: "entries bound drops the oldest", maxEntries: 2, maxBytes: 100, puts: []put{{"a", "r1", 1}, {"b", "r1", 1}, {"c", "r1", 1}}, want: "[b c]"},
		{name: "bytes bound drops the oldest", maxEntries: 9, maxBytes: 25, puts: []put{{"a", "r1", 10}, {"b", "r1", 10}, {"c", "r1", 10}}, want: "[b c]"},
		{name: "too big alone is not kept", maxEntries: 9, maxBytes: 25, puts: []put{{"a", "r1", 10}, {"big", "r1", 26}}, want: "[a]"},
		{name: "the same name twice counts once", maxEntries: 2, maxBytes: 100, puts: []put{{"a", "r1", 10}, {"a", "r1", 10}, {"b", "r1", 10}}, want: "[a b]"},
		{name: "a group goes", maxEntries: 9, maxBytes: 100, puts: []put{{"a", "r1", 10}, {"b", "r2", 10}, {"c", "r1", 10}}, drop: "r1", want: "[b]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newContentCache[string](tc.maxEntries, tc.maxBytes)
			for _, p := range tc.puts {
				c.put(p.name, p.group, "value of "+p.name, p.size)
			}
			if tc.drop != "" {
				c.dropGroup(tc.drop)
			}
			var kept []string
			var bytes int64
			for _, p := range []string{"a", "b", "c", "big"} {
				if v, ok := c.get(p); ok {
					if v != "value of "+p {
						t.Errorf("%s holds %q", p, v)
					}
					kept = append(kept, p)
					bytes += c.entries[p].size
				}
			}
			if fmt.Sprint(kept) != tc.want {
				t.Errorf("kept %v, want %s", kept, tc.want)
			}
			if c.bytes != bytes || len(c.order) != len(kept) {
				t.Errorf("accounts %d bytes in %d entries, holds %d in %d", c.bytes, len(c.order), bytes, len(kept))
			}
		})
	}
}
