package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A Cloud Functions source must build on the platform's builder, so it carries every
// file of the packages the function needs, not only the Go files this machine's build
// would compile: the assembly of fl/fastblas, fl/optim and fl/model, and the files
// that stand in for it on other architectures. It leaves the tests out.
func TestGCFSourceCarriesAssemblyAndEveryArchitecture(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src, err := GCFSource(context.Background(), filepath.Join(root, "functions", "gcf"), root)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, f := range zr.File {
		files[f.Name] = true
		if strings.HasSuffix(f.Name, "_test.go") {
			t.Errorf("the source carries the test file %s", f.Name)
		}
	}
	for _, dir := range []string{"fl/fastblas", "fl/optim", "fl/model"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := dir + "/" + e.Name()
			source := strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".s")
			if source && !strings.HasSuffix(name, "_test.go") && !files[name] {
				t.Errorf("the source lacks %s", name)
			}
		}
	}
	if !files["fl/fastblas/kernel_amd64.s"] || !files["fl/fastblas/kernel_other.go"] {
		t.Fatal("the kernel's assembly or its stand-in is missing")
	}
}
