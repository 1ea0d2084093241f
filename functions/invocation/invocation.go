// Package invocation is the envelope of every call the keeper makes to a FedKeeper
// function: the task as JSON text, signed whole with the key both sides were deployed
// with, so a function acts on exactly the bytes the keeper signed and nothing a caller
// added. Weights relayed inside a request ride beside the task, which signs their
// SHA-256. A request that carries a key, or any field the envelope does not have, is
// refused, and so is one presented after its expiry.
package invocation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/deployment"
	"github.com/fedkeeper/fedkeeper/functions/token"
)

// Protocol is the envelope's version, in its "fedkeeper" field.
const Protocol = 1

// The kinds of task, one per function.
const (
	KindClient    = "fl_client"
	KindInit      = "fl_server_init"
	KindAggregate = "fl_server_aggregator"
	KindRelay     = "fl_invoker_weights_update"
)

// Request is one invocation's parameters.
type Request struct {
	Protocol int    `json:"fedkeeper"`
	Kind     string `json:"kind"`
	// Expires is when the request stops being good (Unix seconds): a request replayed
	// later is refused whatever it asks for.
	Expires int64 `json:"expires"`
	// Task is the task's JSON text; Token signs it with the kind and the expiry (see
	// Sign).
	Task  string `json:"task"`
	Token string `json:"token"`
	// Inline carries weights (a relayed client's global model); the task names their
	// SHA-256.
	Inline *Weights `json:"inline,omitempty"`
}

// Weights are parameters in transit: float32 little-endian bytes (base64 in JSON) with
// their SHA-256.
type Weights struct {
	Data     []byte `json:"data"`
	Checksum string `json:"sha256"`
}

// ErrRefused marks a request that is not a well-formed, signed FedKeeper invocation.
var ErrRefused = errors.New("request refused")

// Sign is the token of a task of a kind that expires at expires: an HMAC of the
// protocol, the kind, the expiry and the task's exact bytes (see token.Sign).
func Sign(key, kind string, expires int64, task string) string {
	return token.Sign(key, signed(kind, expires, task)...)
}

func signed(kind string, expires int64, task string) []string {
	return []string{"fedkeeper invocation", strconv.Itoa(Protocol), kind, strconv.FormatInt(expires, 10), task}
}

// ErrExpired is a request presented after its expiry: a replay, or one that waited
// too long in a queue (the keeper invokes the client again).
var ErrExpired = errors.New("request expired")

// Seal marshals task and signs it as a request of kind, good until expires.
func Seal(key, kind string, task any, expires time.Time) (Request, error) {
	text, err := json.Marshal(task)
	if err != nil {
		return Request{}, fmt.Errorf("invocation: encode %s task: %w", kind, err)
	}
	r := Request{Protocol: Protocol, Kind: kind, Expires: expires.Unix(), Task: string(text)}
	r.Token = Sign(key, kind, r.Expires, r.Task)
	return r, nil
}

// envelopeField says whether name is one of the only fields a request may have.
func envelopeField(name string) bool {
	switch name {
	case "fedkeeper", "kind", "expires", "task", "token", "inline":
		return true
	}
	return false
}

// Parse reads a request, refusing one with a field the envelope does not have: above
// all a key, which comes only from the deployment.
func Parse(raw []byte) (Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Request{}, fmt.Errorf("%w: the parameters are not a JSON object: %v", ErrRefused, err)
	}
	// A key is named before any other unknown field, whatever the map's order.
	names := slices.Sorted(maps.Keys(fields))
	for _, name := range names {
		if carriesKey(name) {
			return Request{}, fmt.Errorf("%w: it carries %q, and keys come only from the function's deployment", ErrRefused, name)
		}
	}
	for _, name := range names {
		if !envelopeField(name) {
			return Request{}, fmt.Errorf("%w: unknown field %q (a FedKeeper invocation has fedkeeper, kind, expires, task, token and inline)", ErrRefused, name)
		}
	}
	var r Request
	if err := json.Unmarshal(raw, &r); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if r.Protocol != Protocol {
		return Request{}, fmt.Errorf("%w: protocol %d, this function speaks %d (is the keeper the same version?)", ErrRefused, r.Protocol, Protocol)
	}
	return r, nil
}

// carriesKey says whether a field's name is a key's: the old bound parameter, or any
// setting of the deployment, in any case.
func carriesKey(name string) bool {
	lower := strings.ToLower(name)
	if lower == "fedkeeper_key" {
		return true
	}
	for _, s := range deployment.Secrets() {
		if lower == strings.ToLower(s.Env()) || lower == s.Secret() {
			return true
		}
	}
	return false
}

// Open checks that the request is a task of kind signed with key and not expired, and
// decodes the task into out, refusing fields out does not have.
func (r Request) Open(key, kind string, out any) error {
	if r.Kind != kind {
		return fmt.Errorf("%w: a %q task sent to %s", ErrRefused, r.Kind, kind)
	}
	if err := token.Verify(key, r.Token, signed(kind, r.Expires, r.Task)...); err != nil {
		return err
	}
	if now := time.Now().Unix(); now > r.Expires {
		return fmt.Errorf("%w %d s ago (this function's clock: %s)", ErrExpired, now-r.Expires, time.Unix(now, 0).UTC().Format(time.RFC3339))
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(r.Task)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%w: the %s task: %v", ErrRefused, kind, err)
	}
	return nil
}

// OpenRaw parses raw and opens it (see Parse and Open).
func OpenRaw(raw []byte, key, kind string, out any) (Request, error) {
	r, err := Parse(raw)
	if err != nil {
		return Request{}, err
	}
	return r, r.Open(key, kind, out)
}
