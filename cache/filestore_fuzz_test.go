package cache

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// FuzzFileStoreDecode feeds arbitrary bytes to the store's file decoder:
// it must never panic, must return a miss for anything unusable, and what
// it accepts must survive an encode-decode round trip. The seed corpus is
// in testdata/fuzz/FuzzFileStoreDecode; CI runs
//
//	go test -run '^$' -fuzz FuzzFileStoreDecode -fuzztime 10s ./cache/
func FuzzFileStoreDecode(f *testing.F) {
	hash := keyHash("fuzz-key")
	now := t0
	valid, err := encodeEntry(testCreds(now.Add(time.Hour)), hash, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`null`))

	f.Fuzz(func(t *testing.T, data []byte) {
		creds, ok := decodeEntry(data, hash)
		if !ok {
			if creds != (aws.Credentials{}) {
				t.Fatalf("a miss returned credentials")
			}
			return
		}
		if !creds.HasKeys() || (!creds.CanExpire && !creds.Expires.IsZero()) {
			t.Fatalf("accepted unusable credentials (can expire %v, expires %v)", creds.CanExpire, creds.Expires)
		}
		again, err := encodeEntry(creds, hash, now)
		if err != nil {
			t.Fatalf("cannot encode what was decoded: %v", err)
		}
		back, ok := decodeEntry(again, hash)
		if !ok || !back.Expires.Equal(creds.Expires) {
			t.Fatalf("round trip lost the entry")
		}
		back.Expires = creds.Expires
		if back != creds {
			t.Fatalf("round trip changed the credentials")
		}
		if _, ok := decodeEntry(data, keyHash("another key")); ok {
			t.Fatalf("a file was accepted for another key")
		}
	})
}
