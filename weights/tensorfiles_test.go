package weights

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedkeeper/fedkeeper/fl/arch"
)

// largeManifest needs 400 KB, above the size from which a tensor directory is used.
var largeManifest = []arch.Param{{Name: "w", Shape: []int{100, 1000}}}

func largeParams(seed float32) []float32 {
	p := make([]float32, 100_000)
	for i := range p {
		p[i] = seed + float32(i%977)/1000
	}
	return p
}

func tensorFileNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestTensorDirectoryKeepsLargeVectorsAsFiles(t *testing.T) {
	ctx := context.Background()
	uri, dir := startMongo(t), t.TempDir()
	s := connect(t, Options{URI: uri, DB: "test", Collection: "w", TensorDir: dir})
	g := Global{Experiment: "e", Version: 0, Manifest: largeManifest, Params: largeParams(1)}
	if _, err := s.PutGlobal(ctx, g); err != nil {
		t.Fatal(err)
	}
	small := Global{Experiment: "e", Version: 1, Manifest: tinyManifest, Params: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}}
	if _, err := s.PutGlobal(ctx, small); err != nil {
		t.Fatal(err)
	}
	files := tensorFileNames(t, dir)
	if len(files) != 1 {
		t.Fatalf("tensor directory holds %v, want the large version only", files)
	}
	if fi, err := os.Stat(filepath.Join(dir, files[0])); err != nil || fi.Size() != 400_000 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("tensor file %v %v", fi, err)
	}
	got, err := s.GetGlobal(ctx, "e", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Params[99_999] != g.Params[99_999] || len(got.Params) != len(g.Params) {
		t.Fatal("large version read back wrong")
	}
	if got, err := s.GetGlobal(ctx, "e", 1); err != nil || got.Params[8] != 9 {
		t.Fatalf("small version: %v", err)
	}

	// A store without the directory says what it lacks instead of reading nothing.
	bare := connect(t, Options{URI: uri, DB: "test", Collection: "w"})
	if _, err := bare.GetGlobal(ctx, "e", 0); err == nil || !strings.Contains(err.Error(), "tensor_dir") {
		t.Errorf("read without the tensor directory: %v", err)
	}

	// The description in MongoDB stays the record: a changed or lost file is damage.
	path := filepath.Join(dir, files[0])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[1000] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetGlobal(ctx, "e", 0); !errors.Is(err, ErrDamaged) {
		t.Errorf("read of a changed file: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetGlobal(ctx, "e", 0); !errors.Is(err, ErrDamaged) {
		t.Errorf("read of a lost file: %v", err)
	}
}

func TestTensorFilesOfUpdatesFollowRetriesAndDeletion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := connect(t, Options{URI: startMongo(t), DB: "test", Collection: "w", TensorDir: dir})
	u := Update{Experiment: "e", Round: 1, Client: 4, Attempt: 1, Samples: 10, Manifest: largeManifest, Params: largeParams(1)}
	if _, err := s.PutUpdate(ctx, u); err != nil {
		t.Fatal(err)
	}
	// A retry with other content replaces the update and removes the earlier file.
	u.Attempt, u.Params = 2, largeParams(2)
	if _, err := s.PutUpdate(ctx, u); err != nil {
		t.Fatal(err)
	}
	if files := tensorFileNames(t, dir); len(files) != 1 {
		t.Fatalf("after a retry the directory holds %v", files)
	}
	got, err := s.GetUpdate(ctx, "e", 1, 4)
	if err != nil || got.Params[0] != 2 {
		t.Fatalf("read the retry's update: %v", err)
	}
	other := Update{Experiment: "e", Round: 1, Client: 5, Samples: 10, Manifest: largeManifest, Params: largeParams(3)}
	if _, err := s.PutUpdate(ctx, other); err != nil {
		t.Fatal(err)
	}
	var order []int
	if err := s.EachUpdate(ctx, "e", 1, nil, func(client int, u Update, damaged error) error {
		if damaged != nil {
			return damaged
		}
		order = append(order, client)
		return nil
	}); err != nil || len(order) != 2 || order[0] != 4 || order[1] != 5 {
		t.Fatalf("each update: %v %v", order, err)
	}
	if n, err := s.DeleteRoundUpdates(ctx, "e", 1); err != nil || n != 2 {
		t.Fatalf("deleted %d (%v)", n, err)
	}
	if files := tensorFileNames(t, dir); len(files) != 0 {
		t.Errorf("files left after the round's updates were deleted: %v", files)
	}
}

// A forged description cannot make the store read or delete outside its directory.
func TestTensorFileNamesStayInTheirDirectory(t *testing.T) {
	ctx := context.Background()
	s := connect(t, Options{URI: startMongo(t), DB: "test", Collection: "w", TensorDir: t.TempDir()})
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../" + filepath.Base(outside), outside, "..", ""} {
		doc := weightsDoc{ID: "x", Where: whereFile, Blob: name, Count: 1}
		if _, err := s.getParams(ctx, doc); !errors.Is(err, ErrDamaged) {
			t.Errorf("read of %q: %v", name, err)
		}
		if err := s.dropParams(ctx, doc); !errors.Is(err, ErrDamaged) {
			t.Errorf("drop of %q: %v", name, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("file outside the directory: %v", err)
	}
	var unknown weightsDoc
	unknown.ID, unknown.Where = "y", "tape"
	if _, err := s.getParams(ctx, unknown); !errors.Is(err, ErrDamaged) {
		t.Errorf("unknown place: %v", err)
	}
}
