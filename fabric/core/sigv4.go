package core

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// SigV4 admits requests signed with AWS Signature Version 4 by one access key, for one
// region and service, as the AWS APIs take them (Lambda's control plane and Invoke).
// The signature is recomputed from what the request carries: the headers it names as
// signed, its path and query, and the SHA-256 of its body (read, then given back to
// the handler), which must also match X-Amz-Content-Sha256 when that is sent. A
// request dated more than MaxSkew from Now is refused, so a captured request cannot be
// replayed later.
type SigV4 struct {
	AccessKeyID, SecretAccessKey string
	Region, Service              string
	// Now is the server's clock (time.Now when nil).
	Now func() time.Time
	// MaxBody bounds the body read to hash it (MaxSigV4Body when zero).
	MaxBody int64
}

// SigV4's defaults: AWS's own allowed skew, and a body as large as a 50 MB zip sent
// base64 in a JSON CreateFunction.
const (
	MaxSkew      = 15 * time.Minute
	MaxSigV4Body = 80 << 20
)

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// Admits implements Credential.
func (s SigV4) Admits(r *http.Request) bool {
	if s.AccessKeyID == "" || s.SecretAccessKey == "" {
		return false
	}
	auth, ok := parseSigV4(r.Header.Get("Authorization"))
	if !ok || !equal(auth.accessKey, s.AccessKeyID) || auth.region != s.Region || auth.service != s.Service {
		return false
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || date.Format("20060102") != auth.date || s.skewed(date) {
		return false
	}
	payload, ok := s.payloadHash(r)
	if !ok {
		return false
	}
	scope := strings.Join([]string{auth.date, s.Region, s.Service, "aws4_request"}, "/")
	canonical := canonicalRequest(r, auth.signedHeaders, payload)
	digest := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{sigV4Algorithm, r.Header.Get("X-Amz-Date"), scope, hex.EncodeToString(digest[:])}, "\n")
	key := hmacOf([]byte("AWS4"+s.SecretAccessKey), auth.date)
	for _, part := range []string{s.Region, s.Service, "aws4_request"} {
		key = hmacOf(key, part)
	}
	return equal(hex.EncodeToString(hmacOf(key, toSign)), auth.signature)
}

func (s SigV4) skewed(date time.Time) bool {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	d := now.Sub(date)
	return d > MaxSkew || d < -MaxSkew
}

// payloadHash is the hex SHA-256 of the body, which it reads and gives back; a body
// past the bound, or one that differs from the X-Amz-Content-Sha256 sent, fails.
func (s SigV4) payloadHash(r *http.Request) (string, bool) {
	limit := s.MaxBody
	if limit <= 0 {
		limit = MaxSigV4Body
	}
	var data []byte
	if r.Body != nil {
		var err error
		if data, err = io.ReadAll(io.LimitReader(r.Body, limit+1)); err != nil || int64(len(data)) > limit {
			return "", false
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if sent := r.Header.Get("X-Amz-Content-Sha256"); sent != "" && sent != got {
		return "", false
	}
	return got, true
}

// sigV4Auth is an Authorization header's parts.
type sigV4Auth struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseSigV4 reads "AWS4-HMAC-SHA256 Credential=AKID/20261201/eu-west-1/lambda/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=…".
func parseSigV4(header string) (sigV4Auth, bool) {
	rest, ok := strings.CutPrefix(header, sigV4Algorithm+" ")
	if !ok {
		return sigV4Auth{}, false
	}
	var a sigV4Auth
	for _, field := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch name {
		case "Credential":
			parts := strings.Split(value, "/")
			if len(parts) != 5 || parts[4] != "aws4_request" {
				return sigV4Auth{}, false
			}
			a.accessKey, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(value, ";")
		case "Signature":
			a.signature = value
		}
	}
	ok = a.accessKey != "" && a.signature != "" && slices.Contains(a.signedHeaders, "host") && slices.Contains(a.signedHeaders, "x-amz-date")
	return a, ok
}

// canonicalRequest is SigV4's canonical form of r over the signed headers.
func canonicalRequest(r *http.Request, signed []string, payloadHash string) string {
	var headers strings.Builder
	for _, name := range signed {
		value := slices.Clone(r.Header.Values(name))
		if name == "host" {
			value = []string{r.Host}
		}
		for i := range value {
			value[i] = strings.Join(strings.Fields(value[i]), " ")
		}
		headers.WriteString(name + ":" + strings.Join(value, ",") + "\n")
	}
	return strings.Join([]string{r.Method, escapeSigV4(r.URL.EscapedPath(), false), canonicalQuery(r.URL.Query()),
		headers.String(), strings.Join(signed, ";"), payloadHash}, "\n")
}

// canonicalQuery sorts the query by name and value, each escaped as SigV4 escapes.
func canonicalQuery(q url.Values) string {
	var pairs []string
	for name, values := range q {
		for _, v := range values {
			pairs = append(pairs, escapeSigV4(name, true)+"="+escapeSigV4(v, true))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// escapeSigV4 percent-encodes all but the unreserved characters (and "/" in a path).
func escapeSigV4(s string, encodeSlash bool) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		unreserved := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0
		if unreserved || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

func hmacOf(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
