package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fedkeeper/fedkeeper/fabric/archive/archivetest"
)

func TestUnzip(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 101)
	tests := []struct {
		name    string
		files   map[string][]byte
		wantErr bool
		is      error
	}{
		{"files within the limit", map[string][]byte{"exec": []byte("binary"), "data/x": bytes.Repeat([]byte("y"), 100)}, false, nil},
		// A file over the limit was cut short before: refused now.
		{"a file over the limit", map[string][]byte{"exec": big}, true, ErrTooLarge},
		{"an entry leaving the folder", map[string][]byte{"../evil": []byte("x")}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "code")
			names, err := unzip(archivetest.Zip(t, tc.files), dir, 100)
			if (err != nil) != tc.wantErr || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("got %v, want an error %v (%v)", err, tc.wantErr, tc.is)
			}
			if err != nil {
				return
			}
			for _, n := range names {
				data, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil || !bytes.Equal(data, tc.files[n]) {
					t.Errorf("%s: %d bytes (%v), want %d", n, len(data), err, len(tc.files[n]))
				}
			}
		})
	}
}
