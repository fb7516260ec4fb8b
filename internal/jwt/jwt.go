// Package jwt reads the claims of a JSON Web Token without verifying it. The
// module reads claims only to time a token ("exp"), to name a session
// ("sub") and to tell identities apart; STS verifies every token it is sent.
package jwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrNotJWT means a value is not a JWT whose claims can be read: not a JWS
// in compact serialization (RFC 7515 §7.1) with a JSON object for header and
// claims set. An opaque OAuth 2.0 access token is one; so is a JWE, whose
// claims are encrypted.
var ErrNotJWT = errors.New("not a JWT")

// Claims unmarshals the claims set of token into v, as [json.Unmarshal]
// does, without verifying anything. v should accept any JSON value for a
// claim (a map of any or of json.RawMessage, or fields of those types), so
// that an odd claim does not make the token unreadable.
//
// Segments are base64url without padding (RFC 7515 §2); padding, which some
// encoders add, is tolerated. Errors wrap [ErrNotJWT], say which part is
// wrong and never contain any part of the token.
func Claims(token string, v any) error {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return notJWT("want three dot-separated segments")
	}
	if h, err := decodeSegment(header); err != nil || !isJSONObject(h) {
		return notJWT("header is not base64url-encoded JSON")
	}
	p, err := decodeSegment(payload)
	if err != nil {
		return notJWT("payload is not base64url-encoded")
	}
	if !isJSONObject(p) || json.Unmarshal(p, v) != nil {
		return notJWT("payload is not a JSON object")
	}
	return nil
}

func notJWT(reason string) error { return fmt.Errorf("%w: %s", ErrNotJWT, reason) }

// decodeSegment decodes one base64url segment.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// isJSONObject reports whether b is valid JSON whose top-level value is an
// object.
func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
