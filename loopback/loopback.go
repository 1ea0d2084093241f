// Package loopback finds free TCP ports on 127.0.0.1 for what FedKeeper starts on the
// local machine (the embedded Temporal's services, the fabric's function processes). It
// is its own small package so the fabric need not import the embedded stack to get one.
package loopback

import (
	"fmt"
	"net"
)

// Host is the loopback address the ports are free on.
const Host = "127.0.0.1"

// FreePort returns a port nothing listens on at the moment of the call. Another process
// may take it before the caller listens; callers that start a server on it report that
// as their own start-up failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ListenOrFallback listens on addr, or, when that port is taken, on a free port of
// the same host: what a second worker on one machine does with the default metrics
// and dashboard ports. The caller reads the address it got from the listener.
func ListenOrFallback(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		return l, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if l, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}
