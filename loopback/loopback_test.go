package loopback

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePortCanBeListenedOn(t *testing.T) {
	seen := map[int]bool{}
	for range 3 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if port <= 0 || port > 65535 {
			t.Fatalf("port %d", port)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(Host, strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", port, err)
		}
		// Held open, so the next call must find another one.
		defer l.Close()
		if seen[port] {
			t.Fatalf("port %d handed out while in use", port)
		}
		seen[port] = true
	}
}
