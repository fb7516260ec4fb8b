package tokensource

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/awsoidc/awsoidc/internal/jwt"
)

// errNoExpiry is ParseExpiry's error for a JWT without a usable "exp".
var errNoExpiry = errors.New(`JWT has no usable "exp" claim`)

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
	var claims map[string]json.RawMessage
	if err := jwt.Claims(token, &claims); err != nil {
		return time.Time{}, fmt.Errorf("tokensource: %w", err)
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

func noExpiry(reason string) error { return fmt.Errorf("tokensource: %w: %s", errNoExpiry, reason) }

// newToken returns a Token for value with its JWT expiry, zero when value is
// not a JWT or has no usable exp: an unparsable token is still passed on, and
// STS gives the authoritative verdict.
func newToken(value string) Token {
	exp, _ := ParseExpiry(value)
	return Token{Value: value, Expiry: exp}
}
