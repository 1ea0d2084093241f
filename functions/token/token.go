// Package token signs and checks the tokens that keep forged calls from injecting
// updates. The keeper and the deployed functions share a key, which reaches a function
// only through its deployment (see package deployment) and never with an invocation;
// every invocation carries the HMAC-SHA256 of what it asks for, so a token is good for
// exactly that request.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrInvalid is a missing or wrong token.
var ErrInvalid = errors.New("invalid token: the call did not come from this experiment's keeper")

// ErrNoKey is a function deployed without a key: it refuses everything.
var ErrNoKey = errors.New("invalid token: this function has no key (deploy it with FedKeeper)")

// Sign returns the token of parts: the hex HMAC-SHA256 under key of every part, each
// preceded by its length in bytes as an 8-byte big-endian number, so no two lists of
// parts sign alike ("a|b", "1" is not "a", "b|1").
func Sign(key string, parts ...string) string {
	mac := hmac.New(sha256.New, []byte(key))
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		mac.Write(n[:])
		mac.Write([]byte(p))
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a token in constant time; without a key it refuses everything.
func Verify(key, token string, parts ...string) error {
	if key == "" {
		return ErrNoKey
	}
	if !hmac.Equal([]byte(token), []byte(Sign(key, parts...))) {
		return ErrInvalid
	}
	return nil
}

// LoadOrCreate returns the key stored in file, creating a random one (readable by its
// owner only) when there is none, so every process of one data directory shares it.
func LoadOrCreate(file string) (string, error) {
	if data, err := os.ReadFile(file); err == nil {
		if key := strings.TrimSpace(string(data)); key != "" {
			return key, nil
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", err
	}
	// O_EXCL: when two processes race, the loser reads the winner's key.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", file, err)
	}
	return key, f.Close()
}
