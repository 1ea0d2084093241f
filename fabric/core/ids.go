package core

import (
	"crypto/rand"
	"encoding/hex"
)

// HexID is n random bytes in hex: 16 make OpenWhisk's activation and transaction ids,
// Cloud Functions uses shorter ones for executions, operations and builds.
func HexID(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read does not fail; it aborts the program when the system has no entropy.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// UUID is a random id in the 8-4-4-4-12 form of OpenFaaS's call ids.
func UUID() string {
	h := HexID(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
