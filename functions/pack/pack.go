// Package pack turns a function's func_path into the bytes a platform deploys. For Go:
// for OpenWhisk's native runtime a zip holding a linux/amd64 "exec" binary (from a Go
// main package built here with the go command, a ready executable, or a zip that
// already holds an "exec"), for Cloud Functions the module's source, for OpenFaaS the
// built handler. For Python (Detect tells which a path is): OpenWhisk's action code
// (a .py file, or a folder zipped with __main__.py), Cloud Functions' source zip (main.py,
// requirements.txt) and OpenFaaS python3-http's folder in faas-cli build's layout.
package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	owclient "github.com/fedkeeper/fedkeeper/faas/openwhisk"
)

// OpenWhiskZip returns the native action zip for funcPath, resolved against baseDir
// when relative. buildDir receives the built binary (it is reused as a cache).
func OpenWhiskZip(ctx context.Context, funcPath, baseDir, buildDir string) ([]byte, error) {
	if funcPath == "" {
		return nil, errors.New("pack: func_path is empty")
	}
	path := funcPath
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pack: func_path %s: %w", funcPath, err)
	}
	switch {
	case info.IsDir():
		binary, err := BuildGo(ctx, path, buildDir)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(binary)
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		return owclient.ZipExec(data)
	case strings.HasSuffix(path, ".zip"):
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		if err := checkZip(data); err != nil {
			return nil, fmt.Errorf("pack: %s: %w", funcPath, err)
		}
		return data, nil
	case info.Mode()&0o111 != 0:
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		return owclient.ZipExec(data)
	}
	return nil, fmt.Errorf("pack: func_path %s is neither a Go package folder, an executable nor a zip with an \"exec\" (nor Python: a .py file or a folder with __main__.py)", funcPath)
}

func checkZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("not a zip: %w", err)
	}
	for _, f := range zr.File {
		if f.Name == "exec" {
			return nil
		}
	}
	return errors.New("the zip holds no \"exec\" at its top level")
}

// BuildGo compiles the Go main package in dir for linux/amd64 without cgo, stripped,
// and returns the binary's path inside buildDir.
func BuildGo(ctx context.Context, dir, buildDir string) (string, error) {
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(buildDir, BuildName(abs)))
	if err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pack: go build %s: %w\n%s", dir, err, strings.TrimSpace(string(output)))
	}
	return out, nil
}

// BuildName is what a build of the function folder at the absolute path abs is called
// in a build folder: the folder's name, which users recognise, and a digest of the
// path, which keeps two folders of the same name (functions/openfaas and
// examples/pytorch-mlp/openfaas) from overwriting each other's build.
func BuildName(abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return filepath.Base(abs) + "-" + hex.EncodeToString(sum[:4])
}
