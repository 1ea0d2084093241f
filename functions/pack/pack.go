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
)

// OpenWhiskZip returns the native action zip for funcPath, resolved against baseDir
// when relative: a linux/amd64 binary as its "exec". buildDir receives the built
// binary (it is reused as a cache).
func OpenWhiskZip(ctx context.Context, funcPath, baseDir, buildDir string) ([]byte, error) {
	return executableZip(ctx, funcPath, baseDir, buildDir, "exec")
}

// LambdaZip returns a provided.al2023 function's zip for funcPath: a linux/amd64
// binary as its "bootstrap", which runs the Runtime API's loop (aws-lambda-go's).
func LambdaZip(ctx context.Context, funcPath, baseDir, buildDir string) ([]byte, error) {
	return executableZip(ctx, funcPath, baseDir, buildDir, "bootstrap")
}

// executableZip is a zip whose entry is the executable a platform starts: built from a
// Go main package folder, a ready executable, or a zip that holds the entry already.
func executableZip(ctx context.Context, funcPath, baseDir, buildDir, entry string) ([]byte, error) {
	if funcPath == "" {
		return nil, errors.New("pack: func_path is empty")
	}
	path := resolve(funcPath, baseDir)
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
		return ZipExecutable(entry, data)
	case strings.HasSuffix(path, ".zip"):
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		if err := checkZip(data, entry); err != nil {
			return nil, fmt.Errorf("pack: %s: %w", funcPath, err)
		}
		return data, nil
	case info.Mode()&0o111 != 0:
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		return ZipExecutable(entry, data)
	}
	return nil, fmt.Errorf("pack: func_path %s is neither a Go package folder, an executable nor a zip with an %q (nor Python code)", funcPath, entry)
}

// ZipExecutable packs an executable as the entry of a zip, executable by all: an
// OpenWhisk native action's "exec", a Lambda provided runtime's "bootstrap".
func ZipExecutable(entry string, binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	header := &zip.FileHeader{Name: entry, Method: zip.Deflate}
	header.SetMode(0o755)
	w, err := zw.CreateHeader(header)
	if err == nil {
		_, err = w.Write(binary)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("pack: zip %s: %w", entry, err)
	}
	return buf.Bytes(), nil
}

func checkZip(data []byte, entry string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("not a zip: %w", err)
	}
	for _, f := range zr.File {
		if f.Name == entry {
			return nil
		}
	}
	return fmt.Errorf("the zip holds no %q at its top level", entry)
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
