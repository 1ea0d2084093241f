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

// A taken port falls back to another on the same host; a free one is kept.
func TestListenOrFallback(t *testing.T) {
	first, err := ListenOrFallback(Host + ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := ListenOrFallback(first.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	a, b := first.Addr().(*net.TCPAddr), second.Addr().(*net.TCPAddr)
	if a.Port == b.Port || !b.IP.Equal(a.IP) {
		t.Errorf("second listener %v beside %v", b, a)
	}
	if _, err := ListenOrFallback("no-port"); err == nil {
		t.Error("an address without a port was taken")
	}
}
