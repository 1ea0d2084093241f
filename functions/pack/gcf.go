package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GCFSource returns a Cloud Functions (Go runtime) source archive for the function
// package at funcPath (resolved against baseDir): the module's go.mod and go.sum, the
// non-test sources (Go, assembly, headers, embedded files) of every package of the
// module the function needs, and, when the
// function package is not the module's root, a root package that imports it, because
// the Go buildpack builds the package at the root of the source.
func GCFSource(ctx context.Context, funcPath, baseDir string) ([]byte, error) {
	dir := funcPath
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(baseDir, dir)
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("pack: func_path %s is not a Go package folder", funcPath)
	}
	mod, err := goList(ctx, dir, "list", "-m", "-f", "{{.Path}}|{{.Dir}}")
	if err != nil {
		return nil, err
	}
	modPath, modDir, _ := strings.Cut(strings.TrimSpace(mod), "|")
	// Every source file, whatever its build constraints say for this machine: the
	// builder compiles for its own platform (assembly, such as fl/fastblas's kernel,
	// and the files that stand in for it elsewhere).
	pkgs, err := goList(ctx, dir, "list", "-deps", "-f",
		"{{if .Module}}{{if .Module.Main}}{{.ImportPath}}|{{.Dir}}|"+
			"{{join .GoFiles \",\"}},{{join .IgnoredGoFiles \",\"}},{{join .SFiles \",\"}},{{join .HFiles \",\"}},{{join .IgnoredOtherFiles \",\"}}|"+
			"{{join .EmbedFiles \",\"}}|{{.Name}}{{end}}{{end}}", ".")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) error {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		if err := add(f, data); err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
	}
	funcImport, rootIncluded := "", false
	absDir, _ := filepath.Abs(dir)
	for _, line := range strings.Split(strings.TrimSpace(pkgs), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 5 {
			continue
		}
		importPath, pkgDir := parts[0], parts[1]
		if pkgDir == absDir {
			funcImport = importPath
		}
		if importPath == modPath {
			rootIncluded = true
		}
		rel, err := filepath.Rel(modDir, pkgDir)
		if err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
		for _, list := range parts[2:4] {
			for _, file := range strings.Split(list, ",") {
				if file == "" || strings.HasSuffix(file, "_test.go") {
					continue
				}
				data, err := os.ReadFile(filepath.Join(pkgDir, file))
				if err != nil {
					return nil, fmt.Errorf("pack: %w", err)
				}
				if err := add(filepath.ToSlash(filepath.Join(rel, file)), data); err != nil {
					return nil, fmt.Errorf("pack: %w", err)
				}
			}
		}
	}
	if funcImport == "" {
		return nil, fmt.Errorf("pack: %s is not a package of module %s", funcPath, modPath)
	}
	if funcImport != modPath {
		if rootIncluded || hasGoFiles(modDir) {
			return nil, fmt.Errorf("pack: the root of module %s is a package of its own; put the function there", modPath)
		}
		root := fmt.Sprintf("// Package function is the source root Cloud Functions builds; it registers the\n// functions of %s.\npackage function\n\nimport _ %q\n", funcImport, funcImport)
		if err := add("function.go", []byte(root)); err != nil {
			return nil, fmt.Errorf("pack: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	return buf.Bytes(), nil
}

func hasGoFiles(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(matches) > 0
}

func goList(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("pack: go %s: %v %s", strings.Join(args[:1], " "), err, msg)
	}
	return string(out), nil
}
