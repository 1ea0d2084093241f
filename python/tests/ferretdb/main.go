// Command ferretdb serves the embedded MongoDB-compatible store (FerretDB on SQLite)
// for the Python SDK's tests when they run on their own: it prints the store's URI
// on one line, serves on 127.0.0.1 until its standard input closes, and removes its
// data. Under make test the Go test in python/interop starts the store instead.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/fedkeeper/fedkeeper/embedded/mongodb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "fk-pytest-mongodb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := mongodb.Start(context.Background(), mongodb.Options{Dir: dir})
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Println(srv.URI())
	// The parent holds the pipe open while it needs the store.
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}
