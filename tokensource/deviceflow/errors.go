package deviceflow

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"
)

// Error codes of the device access token response, RFC 8628 §3.5, and of
// the refresh token response, RFC 6749 §5.2.
const (
	codeAuthorizationPending = "authorization_pending"
	codeSlowDown             = "slow_down"
	codeAccessDenied         = "access_denied"
	codeExpiredToken         = "expired_token"
	codeInvalidGrant         = "invalid_grant"
)

// Sentinel errors, matched with [errors.Is] against the typed errors this
// package returns.
var (
	// ErrAccessDenied matches a [*TokenError] whose code is "access_denied":
	// the user declined the request at the verification page (RFC 8628 §3.5).
	ErrAccessDenied = errors.New("deviceflow: access denied")

	// ErrExpiredToken matches a [*TokenError] whose code is "expired_token":
	// the device code expired before the user approved the request (RFC 8628
	// §3.5), whether the server said so or the code's expires_in passed.
	ErrExpiredToken = errors.New("deviceflow: device code expired")

	// ErrLoginRequired matches a [*LoginRequiredError]: no usable token or
	// refresh token is stored and the [Source] may not start a device login.
	ErrLoginRequired = errors.New("deviceflow: login required")
)

// ConfigError reports an argument or option of [New] that breaks a rule. It
// names the field and the rule, and never carries a secret.
type ConfigError struct {
	// Field is the argument or Options field, e.g. "issuer" or "Scopes".
	Field string
	// Value is the rejected value, or empty when it may be secret.
	Value string
	// Rule says what a valid value looks like.
	Rule string
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("deviceflow: %s: %s", e.Field, e.Rule)
	}
	return fmt.Sprintf("deviceflow: %s %q: %s", e.Field, e.Value, e.Rule)
}

// TokenError is an error response of the token endpoint (RFC 6749 §5.2) to a
// device access token request (RFC 8628 §3.4, §3.5) or a refresh (RFC 6749
// §6). It carries the RFC error fields, like [oauth2.RetrieveError], and
// matches [ErrAccessDenied] and [ErrExpiredToken] with [errors.Is].
//
// Its message never includes the response body. When the [Source] builds
// it, every field the server wrote (ErrorCode, ErrorDescription, ErrorURI,
// and those of Err) has the secrets the Source holds replaced by
// "[REDACTED]": an identity provider may echo the refresh token, the device
// code or the client secret it was sent.
type TokenError struct {
	// Grant is "device_code" or "refresh_token", or "device_authorization"
	// for an error response to the device authorization request (RFC 8628
	// §3.2).
	Grant string
	// StatusCode is the HTTP status, or 0 when the error was decided
	// locally (the device code's expires_in passed).
	StatusCode int
	// ErrorCode is the "error" field, e.g. "access_denied".
	ErrorCode string
	// ErrorDescription is the "error_description" field.
	ErrorDescription string
	// ErrorURI is the "error_uri" field.
	ErrorURI string
	// Err is the underlying error: an [*oauth2.RetrieveError] for a server
	// response (a scrubbed copy, whose Response holds the status only), or
	// the last transient error before a local expiry.
	Err error
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("deviceflow: ")
	switch e.ErrorCode {
	case codeAccessDenied:
		b.WriteString("the login was denied at the verification page")
	case codeExpiredToken:
		b.WriteString("the device code expired before the login was approved; start a new login")
	case codeInvalidGrant:
		fmt.Fprintf(&b, "%s grant rejected (invalid_grant)", e.Grant)
	default:
		fmt.Fprintf(&b, "%s grant failed", e.Grant)
		if e.ErrorCode != "" {
			fmt.Fprintf(&b, ": %s", sanitize(e.ErrorCode, 64))
		}
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.ErrorDescription != "" {
		fmt.Fprintf(&b, ": %s", sanitize(e.ErrorDescription, 256))
	}
	if e.Err != nil && e.StatusCode == 0 {
		fmt.Fprintf(&b, " (last error: %s)", describe(e.Err))
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *TokenError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrAccessDenied] or [ErrExpiredToken] and
// matches e's error code.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrAccessDenied:
		return e.ErrorCode == codeAccessDenied
	case ErrExpiredToken:
		return e.ErrorCode == codeExpiredToken
	}
	return false
}

// newTokenError converts an [*oauth2.RetrieveError] to a [*TokenError].
func newTokenError(grant string, re *oauth2.RetrieveError) *TokenError {
	e := &TokenError{
		Grant:            grant,
		ErrorCode:        re.ErrorCode,
		ErrorDescription: re.ErrorDescription,
		ErrorURI:         re.ErrorURI,
		Err:              re,
	}
	if re.Response != nil {
		e.StatusCode = re.Response.StatusCode
	}
	return e
}

// LoginRequiredError reports that the [Source] has no usable token and no
// usable refresh token, and may not start a device login ([Options]
// Interactive is false). It matches [ErrLoginRequired] with [errors.Is].
type LoginRequiredError struct {
	// Issuer and ClientID identify the login.
	Issuer, ClientID string
	// Reason says why no stored token could be used.
	Reason string
	// Err is the cause, e.g. the [*TokenError] of a revoked refresh token.
	Err error
}

func (e *LoginRequiredError) Error() string {
	s := fmt.Sprintf("deviceflow: login required for issuer %s, client %s: %s", e.Issuer, e.ClientID, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *LoginRequiredError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrLoginRequired].
func (e *LoginRequiredError) Is(target error) bool { return target == ErrLoginRequired }

// DiscoveryError reports a failure to read or use the issuer's OpenID
// Provider Configuration (OpenID Connect Discovery 1.0 §4).
type DiscoveryError struct {
	Issuer string
	Err    error
}

func (e *DiscoveryError) Error() string {
	return fmt.Sprintf("deviceflow: discovery of %s/.well-known/openid-configuration: %v", strings.TrimSuffix(e.Issuer, "/"), e.Err)
}

// Unwrap returns the cause.
func (e *DiscoveryError) Unwrap() error { return e.Err }

// InsecureURLError reports a URL that is neither https nor http on a
// loopback address: the device flow refuses to send codes or tokens, or to
// show or open such a URL.
type InsecureURLError struct {
	// What names the URL, e.g. "issuer", "token_endpoint" or "request".
	What string
	URL  string
}

func (e *InsecureURLError) Error() string {
	return fmt.Sprintf("deviceflow: %s %q: must use https (plain http is allowed only on a loopback host: localhost, 127.0.0.0/8, ::1)", e.What, sanitize(e.URL, 256))
}

// StoreError reports a failure of the [TokenStore].
type StoreError struct {
	// Op is "lock", "load", "save" or "delete".
	Op  string
	Err error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("deviceflow: token store %s: %v", e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *StoreError) Unwrap() error { return e.Err }

// describe summarizes err for a message: the status and error code of an
// [*oauth2.RetrieveError] (whose own message quotes the response body),
// else err's message, sanitized.
func describe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		s := "token endpoint error"
		if re.Response != nil {
			s = "HTTP " + re.Response.Status
		}
		if re.ErrorCode != "" {
			s += " " + sanitize(re.ErrorCode, 64)
		}
		return sanitize(s, 128)
	}
	return sanitize(err.Error(), 256)
}

// sanitize drops control and bidirectional formatting characters (a
// hostile server could send terminal escape sequences, or reorder what the
// user reads) and truncates s to max runes.
func sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			continue
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
