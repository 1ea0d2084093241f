package invocation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fedkeeper/fedkeeper/functions/token"
)

type task struct {
	Experiment string `json:"experiment"`
	Round      int    `json:"round"`
}

func TestOpenRefusesWhatTheKeeperDidNotSign(t *testing.T) {
	later := time.Now().Add(time.Hour)
	good, err := Seal("k", KindClient, task{Experiment: "e", Round: 2}, later)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(r Request) []byte {
		data, _ := json.Marshal(r)
		return data
	}
	withField := func(name, value string) []byte {
		var m map[string]any
		_ = json.Unmarshal(raw(good), &m)
		m[name] = value
		data, _ := json.Marshal(m)
		return data
	}
	changedTask := good
	changedTask.Task = strings.Replace(good.Task, `"round":2`, `"round":3`, 1)
	ownKey, _ := Seal("the caller's own key", KindClient, task{Experiment: "e", Round: 2}, later)
	expired, _ := Seal("k", KindClient, task{Experiment: "e", Round: 2}, time.Now().Add(-time.Second))
	extended := expired
	extended.Expires = later.Unix()
	otherKind := good
	otherKind.Kind = KindAggregate
	extraTaskField := good
	extraTaskField.Task = `{"experiment":"e","round":2,"admin":true}`
	extraTaskField.Token = Sign("k", KindClient, good.Expires, extraTaskField.Task)
	oldProtocol := good
	oldProtocol.Protocol = 0
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"the keeper's request", raw(good), nil},
		{"a changed task", raw(changedTask), token.ErrInvalid},
		{"signed with the caller's own key", raw(ownKey), token.ErrInvalid},
		{"replayed after its expiry", raw(expired), ErrExpired},
		{"an expired request given a later expiry", raw(extended), token.ErrInvalid},
		{"the caller's key beside it", withField("fedkeeper_key", "the caller's own key"), ErrRefused},
		{"the key's environment name", withField("FEDKEEPER_TOKEN_KEY", "x"), ErrRefused},
		{"the key's secret name", withField("fedkeeper-token-key", "x"), ErrRefused},
		{"the store's address", withField("fedkeeper_mongo_uri", "mongodb://evil"), ErrRefused},
		{"an unknown field", withField("mongo", "mongodb://evil"), ErrRefused},
		{"a field in another case", withField("Task", "{}"), ErrRefused},
		{"another kind's token", raw(otherKind), ErrRefused},
		{"a task field the function does not know", raw(extraTaskField), ErrRefused},
		{"no protocol", raw(oldProtocol), ErrRefused},
		{"not an object", []byte(`[1]`), ErrRefused},
		// Named as a key whatever else the request holds: a key must not pass as merely
		// "unknown" (the test below checks the message).
		{"the old format with a key", []byte(`{"experiment":"e","round":1,"client":0,"token":"x","fedkeeper_key":"k","mongo":{}}`), ErrRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got task
			_, err := OpenRaw(tc.raw, "k", KindClient, &got)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err == nil && (got.Experiment != "e" || got.Round != 2) {
				t.Errorf("decoded %+v", got)
			}
		})
	}
	for range 20 { // map order varies from run to run
		_, err := Parse([]byte(`{"experiment":"e","round":1,"client":0,"token":"x","fedkeeper_key":"k","mongo":{}}`))
		if err == nil || !strings.Contains(err.Error(), `carries "fedkeeper_key"`) {
			t.Fatalf("the old format with a key: %v", err)
		}
	}
	if _, err := OpenRaw(raw(good), "", KindClient, &task{}); !errors.Is(err, token.ErrNoKey) {
		t.Errorf("a function without a key: %v", err)
	}
}
