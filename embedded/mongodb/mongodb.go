// Package mongodb runs the embedded MongoDB-compatible store: FerretDB with its SQLite
// backend, in process. FerretDB has no authentication, so it listens on a Unix socket in
// a folder only its owner may enter (the operating system checks who connects), or, when
// asked for a port, on 127.0.0.1 only.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Options configure the embedded store.
type Options struct {
	// Dir holds the SQLite files; it is created if missing.
	Dir string
	// Socket is the Unix socket to listen on; its folder is made private (0700). The
	// MongoDB driver lower-cases socket paths, so the path must be lower case.
	Socket string
	// Port on 127.0.0.1 when no Socket is given; 0 picks a free one.
	Port   int
	Logger *slog.Logger
}

// Server is a running embedded store.
type Server struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
	socket string // the Unix socket listened on, if any
}

// Start brings the store up and returns once it accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("mongodb: a data directory is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("mongodb: data directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mongodb: create data directory: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	listener := ferretdb.ListenerConfig{TCP: net.JoinHostPort("127.0.0.1", fmt.Sprint(opts.Port))}
	addr := listener.TCP
	if opts.Socket != "" {
		if opts.Socket != strings.ToLower(opts.Socket) {
			return nil, fmt.Errorf("mongodb: socket path %s must be lower case", opts.Socket)
		}
		if err := os.MkdirAll(filepath.Dir(opts.Socket), 0o700); err != nil {
			return nil, fmt.Errorf("mongodb: socket folder: %w", err)
		}
		if err := os.Chmod(filepath.Dir(opts.Socket), 0o700); err != nil {
			return nil, fmt.Errorf("mongodb: socket folder: %w", err)
		}
		_ = os.Remove(opts.Socket) // left by a crashed run
		listener, addr = ferretdb.ListenerConfig{Unix: opts.Socket}, opts.Socket
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL(dir),
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("mongodb: start embedded FerretDB on %s (is the port in use?): %w", addr, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{cancel: cancel, done: make(chan struct{}), socket: opts.Socket}
	go func() {
		defer close(s.done)
		_ = f.Run(runCtx)
	}()
	s.uri = f.MongoDBURI()
	return s, nil
}

// sqliteURL is FerretDB's SQLite address for the folder dir. FerretDB adds WAL and its
// other defaults; synchronous=NORMAL is added here, as the embedded Temporal server's
// store has it: in WAL mode a commit then writes the log without waiting for the disk
// (a checkpoint does), which made every stored update cost an fsync. A crashed process
// loses nothing; only a power cut or an OS crash may lose the last commits, never
// consistency (https://www.sqlite.org/pragma.html#pragma_synchronous).
func sqliteURL(dir string) string {
	return "file:" + filepath.ToSlash(dir) + "/?_pragma=synchronous(normal)"
}

// URI is the mongodb:// address of the store.
func (s *Server) URI() string { return s.uri }

// Stop closes the store and waits until its files are closed; it may be called again.
// The socket's folder goes too, unless something else is in it: each data directory
// has a folder of its own in the temporary directory, and runs would otherwise leave
// one each.
func (s *Server) Stop() {
	s.cancel()
	<-s.done
	if s.socket != "" {
		_ = os.Remove(s.socket)
		_ = os.Remove(filepath.Dir(s.socket)) // fails, harmlessly, when not empty
	}
}
