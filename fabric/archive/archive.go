// Package archive unpacks the zip archives platforms receive as code (OpenWhisk native
// actions, Cloud Functions sources), refusing entries that would leave the target folder.
package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxFile bounds one unpacked file.
const maxFile = 512 << 20

// ErrTooLarge refuses an archive with a file larger than the platform unpacks.
var ErrTooLarge = errors.New("zip entry too large")

// Unzip replaces dir with the archive's content and returns the names it holds. A file
// over 512 MB unpacked is refused, never cut short.
func Unzip(data []byte, dir string) ([]string, error) {
	return unzip(data, dir, maxFile)
}

func unzip(data []byte, dir string, limit int64) ([]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, errors.New("not a zip archive")
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var names []string
	for _, f := range zr.File {
		clean := filepath.Clean(f.Name)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("zip entry %q leaves the target folder", f.Name)
		}
		target := filepath.Join(dir, clean)
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o700); err != nil {
				return nil, err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return nil, err
		}
		if err := extract(f, target, limit); err != nil {
			return nil, err
		}
		names = append(names, filepath.ToSlash(clean))
	}
	return names, nil
}

func extract(f *zip.File, target string, limit int64) error {
	if f.UncompressedSize64 > uint64(limit) {
		return fmt.Errorf("%w: %s holds %d bytes, more than %d", ErrTooLarge, f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	defer rc.Close()
	mode := os.FileMode(0o600)
	if f.Mode()&0o111 != 0 || f.Name == "exec" {
		mode = 0o700
	}
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	// The header's size may lie: read one byte past the limit to catch a longer file.
	n, err := io.Copy(out, io.LimitReader(rc, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%w: %s unpacks to more than %d bytes", ErrTooLarge, f.Name, limit)
	}
	if err != nil {
		out.Close()
		_ = os.Remove(target)
		return fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	return out.Close()
}
