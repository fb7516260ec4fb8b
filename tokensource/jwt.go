package tokensource

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

var (
	errNotJWT   = errors.New("not a JWT")
	errNoExpiry = errors.New(`JWT has no usable "exp" claim`)
)

// maxExp is the largest "exp" ParseExpiry accepts: 9999-12-31T23:59:59Z.
// Anything later is garbage, and would overflow time arithmetic.
const maxExp = 253402300799

// ParseExpiry returns the expiry of a JWT: its "exp" claim (RFC 7519 §4.1.4),
// a NumericDate that may be an integer or a fractional number of seconds
// since the Unix epoch. It is returned in UTC.
//
// ParseExpiry does NOT verify the signature, the issuer or anything else: it
// only tells a [Source] when a token will stop being accepted, so that
// [Reuse] and the credential cache know when to ask again. STS does the real
// validation.
//
// When token is not a JWT (for example an opaque OAuth 2.0 access token), or
// is a JWT without a usable "exp" (missing, not a number, or out of range),
// ParseExpiry returns the zero time and an error saying why, which never
// contains any part of the token. Callers that just want an expiry when
// there is one can ignore it.
func ParseExpiry(token string) (time.Time, error) {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		// A JWE (five segments) is a JWT too, but its claims are encrypted.
		return time.Time{}, notJWT("want three dot-separated segments")
	}
	if h, err := decodeSegment(header); err != nil || !isJSONObject(h) {
		return time.Time{}, notJWT("header is not base64url-encoded JSON")
	}
	p, err := decodeSegment(payload)
	if err != nil {
		return time.Time{}, notJWT("payload is not base64url-encoded")
	}
	var claims map[string]json.RawMessage
	if !isJSONObject(p) || json.Unmarshal(p, &claims) != nil {
		return time.Time{}, notJWT("payload is not a JSON object")
	}
	exp, ok := claims["exp"]
	if !ok || string(exp) == "null" {
		return time.Time{}, noExpiry("no exp claim")
	}
	return numericDate(string(exp))
}

// numericDate converts the JSON text of a NumericDate to a time.
func numericDate(s string) (time.Time, error) {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return time.Time{}, noExpiry("exp is not a number")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > maxExp {
			return time.Time{}, noExpiry("exp is out of range")
		}
		return time.Unix(n, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeError(err) {
		return time.Time{}, noExpiry("exp is not a number")
	}
	if err != nil || math.IsNaN(f) || f < 0 || f > maxExp {
		return time.Time{}, noExpiry("exp is out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// decodeSegment decodes one base64url segment (RFC 7515 §2), tolerating the
// padding that the RFC leaves out but some encoders add.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// isJSONObject reports whether b is valid JSON whose top-level value is an
// object.
func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

func notJWT(reason string) error   { return fmt.Errorf("tokensource: %w: %s", errNotJWT, reason) }
func noExpiry(reason string) error { return fmt.Errorf("tokensource: %w: %s", errNoExpiry, reason) }

// newToken returns a Token for value with its JWT expiry, zero when value is
// not a JWT or has no usable exp: an unparsable token is still passed on, and
// STS gives the authoritative verdict.
func newToken(value string) Token {
	exp, _ := ParseExpiry(value)
	return Token{Value: value, Expiry: exp}
}
