package tokensource

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// Token is a web identity token: an OpenID Connect ID token, or an OAuth 2.0
// access token that STS accepts.
//
// A Token formats itself redacted: %v, %+v, %#v, String and slog show its
// expiry and a fingerprint of the value, never the value. But fmt cannot
// call those methods on a Token in an unexported struct field, even through
// a pointer (%s of the struct prints the pointee), and prints it by
// reflection: do not format a value that holds one that way.
type Token struct {
	// Value is the token as sent to STS in WebIdentityToken.
	Value string
	// Expiry is when the token stops being accepted: the JWT "exp" claim when
	// Value is a JWT, zero when unknown.
	Expiry time.Time
}

// Expired reports whether the token has expired at now. A token with a zero
// Expiry never expires by this test.
func (t Token) Expired(now time.Time) bool {
	return !t.Expiry.IsZero() && !now.Before(t.Expiry)
}

// String returns a redacted description of the token.
func (t Token) String() string {
	if t.Value == "" {
		return "Token{}"
	}
	if t.Expiry.IsZero() {
		return fmt.Sprintf("Token{Value:%s %s}", redact.Placeholder, redact.Fingerprint(t.Value))
	}
	return fmt.Sprintf("Token{Value:%s %s, Expiry:%s}", redact.Placeholder, redact.Fingerprint(t.Value), t.Expiry.UTC().Format(time.RFC3339))
}

// GoString implements [fmt.GoStringer] so that %#v is redacted too.
func (t Token) GoString() string { return "tokensource." + t.String() }

// Format implements [fmt.Formatter]: every verb prints the redacted form.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(t.GoString()))
		return
	}
	_, _ = f.Write([]byte(t.String()))
}

// LogValue implements [slog.LogValuer]: the fingerprint and expiry, never the
// value.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("fingerprint", redact.Fingerprint(t.Value))}
	if !t.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", t.Expiry))
	}
	return slog.GroupValue(attrs...)
}
