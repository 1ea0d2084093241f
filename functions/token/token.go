// Package token signs and checks the per-invocation tokens that keep forged calls from
// injecting updates: the keeper and the deployed functions share a key (never sent with
// an invocation); every invocation carries an HMAC of what it is for (experiment,
// round, client), so a token cannot be reused for another round or client.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvVar carries the key to functions on platforms that set environment variables
// (Cloud Functions, OpenFaaS); OpenWhisk actions get it as the default parameter Param.
const (
	EnvVar = "FEDKEEPER_TOKEN_KEY"
	Param  = "fedkeeper_key"
)

// ErrInvalid is a missing or wrong token.
var ErrInvalid = errors.New("invalid token: the call did not come from this experiment's keeper")

// Sign returns the token of an invocation for parts.
func Sign(key string, parts ...any) string {
	mac := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		fmt.Fprintf(mac, "|%v", p)
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a token; a function without a key refuses everything.
func Verify(key, token string, parts ...any) error {
	if key == "" {
		return errors.New("invalid token: this function has no key (deploy it with FedKeeper)")
	}
	if !hmac.Equal([]byte(token), []byte(Sign(key, parts...))) {
		return ErrInvalid
	}
	return nil
}

// Key returns the key a function was deployed with: the invocation's bound parameter
// (OpenWhisk), else the environment.
func Key(bound string) string {
	if bound != "" {
		return bound
	}
	return os.Getenv(EnvVar)
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
		return "", err
	}
	return key, f.Close()
}
