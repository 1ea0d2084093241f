// Package archivetest builds the zip archives the fabric's tests deploy and unpack.
package archivetest

import (
	"archive/zip"
	"bytes"
	"testing"
)

// Zip packs files (name → content) into a zip, none of them marked executable.
func Zip(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
