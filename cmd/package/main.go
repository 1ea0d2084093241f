// Command package builds FedKeeper's functions in the form each platform deploys, for
// clusters that take prebuilt artefacts (make functions):
//
//	package -out dist/functions
//
// writes
//
//	openwhisk/fedkeeper.zip        a native action zip ("exec" for linux/amd64, the Go
//	                               actionloop runtime); the action's name picks the
//	                               function, so deploy it once per name (fl_client, …)
//	gcf/fedkeeper-source.zip       a Cloud Functions source archive for the Go runtime
//	                               (entry point: the function's name)
//	lambda/fedkeeper.zip           a provided.al2023 zip ("bootstrap" for linux/amd64, on
//	                               aws-lambda-go); the function's name picks the function
//	openfaas/                      an image context: Dockerfile and the module sources;
//	                               docker build -t REGISTRY/fedkeeper-fn dist/functions/openfaas
//
// A config's func_path may name the zip (OpenWhisk) instead of a source folder.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fedkeeper/fedkeeper/functions/pack"
)

func main() {
	out := flag.String("out", "dist/functions", "folder to write the packages to")
	root := flag.String("root", ".", "the FedKeeper repository")
	flag.Parse()
	if err := run(context.Background(), *root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, out string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	build, err := os.MkdirTemp("", "fedkeeper-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(build)

	ow, err := pack.OpenWhiskZip(ctx, "functions/openwhisk", root, build)
	if err != nil {
		return fmt.Errorf("openwhisk: %w", err)
	}
	if err := write(filepath.Join(out, "openwhisk", "fedkeeper.zip"), ow); err != nil {
		return err
	}
	aws, err := pack.LambdaZip(ctx, "functions/lambda", root, build)
	if err != nil {
		return fmt.Errorf("lambda: %w", err)
	}
	if err := write(filepath.Join(out, "lambda", "fedkeeper.zip"), aws); err != nil {
		return err
	}
	gcf, err := pack.GCFSource(ctx, "functions/gcf", root)
	if err != nil {
		return fmt.Errorf("gcf: %w", err)
	}
	if err := write(filepath.Join(out, "gcf", "fedkeeper-source.zip"), gcf); err != nil {
		return err
	}
	// The OpenFaaS image builds the handler from the same minimal module sources the
	// Cloud Functions archive holds.
	src, err := pack.GCFSource(ctx, "functions/openfaas", root)
	if err != nil {
		return fmt.Errorf("openfaas: %w", err)
	}
	ctxDir := filepath.Join(out, "openfaas")
	if err := os.RemoveAll(ctxDir); err != nil {
		return err
	}
	if err := unzip(src, ctxDir); err != nil {
		return fmt.Errorf("openfaas: %w", err)
	}
	if err := write(filepath.Join(ctxDir, "Dockerfile"), []byte(openfaasDockerfile)); err != nil {
		return err
	}
	fmt.Printf("wrote %s: openwhisk/fedkeeper.zip (%d KB), lambda/fedkeeper.zip (%d KB), gcf/fedkeeper-source.zip (%d KB), openfaas/ (image context)\n",
		out, len(ow)/1024, len(aws)/1024, len(gcf)/1024)
	return nil
}

// openfaasDockerfile runs the handler behind the of-watchdog in http mode, as
// functions/openfaas expects (it serves on 127.0.0.1:$PORT, default 8082, the
// watchdog's upstream). The package's root holds a main that imports the handler, as
// for Cloud Functions; the handler's own main is at functions/openfaas.
const openfaasDockerfile = `FROM ghcr.io/openfaas/of-watchdog:0.10.7 AS watchdog
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /handler ./functions/openfaas

FROM debian:bookworm-slim
RUN useradd --uid 10001 app
COPY --from=watchdog /fwatchdog /usr/bin/fwatchdog
COPY --from=build /handler /usr/bin/handler
USER app
ENV mode=http upstream_url=http://127.0.0.1:8082 fprocess=/usr/bin/handler
EXPOSE 8080
CMD ["fwatchdog"]
`

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// unzip writes an archive's files under dir, refusing names that leave it.
func unzip(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue // folders come with their files
		}
		name := filepath.FromSlash(f.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("archive entry %q leaves the folder", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := write(filepath.Join(dir, name), body); err != nil {
			return err
		}
	}
	return nil
}
