package weights

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Large parameter vectors may live as files in a tensor directory instead of MongoDB
// chunks. The embedded store (FerretDB 1.x keeps documents as JSON in SQLite) moves
// binary data at 30–50 MB/s on this machine, a file system at GB/s; the description
// document, with the SHA-256 of the bytes, stays in MongoDB and remains the record, so
// a reader still refuses a file that is missing, truncated or changed. Every process
// that reads or writes the weights must see the same directory: the embedded stack's
// functions run on the keeper's machine; with a real MongoDB the chunks stay in
// MongoDB unless the user shares a directory (e.g. a network file system).

// whereFile marks a description whose bytes are a file in the tensor directory.
const whereFile = "file"

// tensorFiles is a directory of parameter files, one per stored object and content.
type tensorFiles struct {
	dir string
}

func openTensorFiles(dir string) (*tensorFiles, error) {
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("weights: tensor directory %q: %w", dir, err)
		}
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("weights: tensor directory: %w", err)
	}
	return &tensorFiles{dir: dir}, nil
}

// TensorFileName is the name of an object's file in a tensor directory.
func TensorFileName(blob, checksum string) string { return fileName(blob, checksum) }

// fileName names the file of an object's content. The checksum in the name means a
// retried write of other content makes a new file rather than changing the one a
// reader of the earlier description may be using.
func fileName(blob, checksum string) string {
	return blob + "." + checksum[:16]
}

// path turns a stored file name into a path, refusing names that would leave the
// directory (a description is data, and data can be forged).
func (t *tensorFiles) path(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("%w: tensor file name %q", ErrDamaged, name)
	}
	return filepath.Join(t.dir, name), nil
}

// put writes data under name atomically: readers see the whole file or none. A
// durable file is synced before it is named, so a crash of the machine cannot leave a
// description of bytes that never reached the disk; derived data (a partial sum, which
// the aggregation checks and can do without) skips the wait.
func (t *tensorFiles) put(name string, data []byte, d durability) error {
	final, err := t.path(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(t.dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("weights: write tensor file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("weights: write tensor file %s: %w", name, err)
	}
	if err := d.sync(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("weights: write tensor file %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("weights: write tensor file %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("weights: write tensor file %s: %w", name, err)
	}
	return nil
}

// durability says whether a tensor file must reach the disk before it is named.
type durability bool

const (
	durable durability = true
	derived durability = false
)

func (d durability) sync(f *os.File) error {
	if d == derived {
		return nil
	}
	return f.Sync()
}

// get reads the file stored under name.
func (t *tensorFiles) get(name string) ([]byte, error) {
	p, err := t.path(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: tensor file %s missing from %s", ErrDamaged, name, t.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("weights: read tensor file %s: %w", name, err)
	}
	return data, nil
}

// drop removes the file stored under name; one already gone is fine.
func (t *tensorFiles) drop(name string) error {
	p, err := t.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("weights: drop tensor file: %w", err)
	}
	return nil
}

// putParams stores an object's bytes where they belong, telling its description where.
func (s *Store) putParams(ctx context.Context, doc *weightsDoc, data []byte) error {
	return s.putParamsAs(ctx, doc, data, doc.ID, durable)
}

// placeBytes says where size bytes named after key, with the checksum, are kept: a
// tensor file when the store has a directory and they are large, MongoDB otherwise;
// and under what name.
func (s *Store) placeBytes(key, checksum string, size int) (where, blob string) {
	if s.tensors != nil && size > ownCollectionAbove {
		return whereFile, fileName(s.blobName(key), checksum)
	}
	return "", s.blobName(key)
}

// putParamsAs is putParams with the bytes named after key instead of the object's id.
func (s *Store) putParamsAs(ctx context.Context, doc *weightsDoc, data []byte, key string, d durability) error {
	var err error
	doc.Where, doc.Blob = s.placeBytes(key, doc.Checksum, len(data))
	if doc.Where == whereFile {
		err = s.tensors.put(doc.Blob, data, d)
	} else {
		err = s.putBlob(ctx, doc.Blob, data)
	}
	if err == nil {
		s.count("write", len(data))
	}
	return err
}

// getParams reads the bytes a description points at.
func (s *Store) getParams(ctx context.Context, doc weightsDoc) ([]byte, error) {
	data, err := s.readBytes(ctx, doc)
	if err == nil {
		s.count("read", len(data))
	}
	return data, err
}

func (s *Store) readBytes(ctx context.Context, doc weightsDoc) ([]byte, error) {
	switch doc.Where {
	case "":
		return s.getBlob(ctx, doc.Blob, 4*doc.Count)
	case whereFile:
		if s.tensors == nil {
			return nil, fmt.Errorf("weights: %s is kept as a file in a tensor directory, and this store was given none (mongo_config.tensor_dir)", doc.ID)
		}
		return s.tensors.get(doc.Blob)
	}
	return nil, fmt.Errorf("%w: %s is stored in %q, which this version does not know", ErrDamaged, doc.ID, doc.Where)
}

// dropAllParams removes the bytes of many descriptions: the small objects in MongoDB
// with a delete per shard, the others one by one.
func (s *Store) dropAllParams(ctx context.Context, docs []weightsDoc) error {
	var small []string
	for _, doc := range docs {
		if doc.Where == "" && 4*doc.Count <= ownCollectionAbove {
			small = append(small, doc.Blob)
			continue
		}
		if err := s.dropParams(ctx, doc); err != nil {
			return err
		}
	}
	return s.dropSmallBlobs(ctx, small)
}

// dropParams removes the bytes a description points at.
func (s *Store) dropParams(ctx context.Context, doc weightsDoc) error {
	switch doc.Where {
	case "":
		return s.dropBlob(ctx, doc.Blob, 4*doc.Count)
	case whereFile:
		if s.tensors == nil {
			return fmt.Errorf("weights: cannot drop %s: no tensor directory given", doc.ID)
		}
		return s.tensors.drop(doc.Blob)
	}
	return nil
}
