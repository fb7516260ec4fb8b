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

// Errors that [Source.Token] and [Source.Login] return wrapped; match them
// with [errors.Is].
var (
	// ErrAccessDenied matches a [*TokenError] whose code is "access_denied":
	// the user declined the request at the verification page (RFC 8628 §3.5).
	ErrAccessDenied = errors.New("deviceflow: access denied")

	// ErrExpiredToken matches a [*TokenError] whose code is "expired_token":
	// the device code expired before the user approved the request (RFC 8628
	// §3.5), whether the server said so or the code's expires_in passed.
	ErrExpiredToken = errors.New("deviceflow: device code expired")

	// ErrLoginRequired is returned, wrapped, by [Source.Token] when no usable
	// token or refresh token is stored and [Options] Interactive is false.
	// The message names the issuer and client and says why; when a rejected
	// refresh token is the cause, its [*TokenError] is wrapped too.
	ErrLoginRequired = errors.New("deviceflow: login required")
)

// ValidationError reports an argument or option of [New] or [NewFileStore]
// that breaks a rule, before any request.
type ValidationError struct {
	// Field is the argument or Options field, e.g. "issuer" or "Scopes".
	Field string
	// Value is the refused value, or empty when it may be secret.
	Value string
	// Rule is what the value must be.
	Rule string
}

// Error returns "deviceflow: invalid <Field> <Value>: <Rule>".
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("deviceflow: invalid %s: %s", e.Field, e.Rule)
	}
	return fmt.Sprintf("deviceflow: invalid %s %q: %s", e.Field, e.Value, e.Rule)
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

// Error says what failed, with the error code, the HTTP status and the
// description; never the response body.
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

// loginRequired returns the error of a [Source] that needs a login it may
// not start: [ErrLoginRequired], why, and the cause (nil, or the token
// endpoint's error).
func (s *Source) loginRequired(reason string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w for issuer %s, client %s: %s", ErrLoginRequired, s.issuer, s.clientID, reason)
	}
	return fmt.Errorf("%w for issuer %s, client %s: %s: %w", ErrLoginRequired, s.issuer, s.clientID, reason, cause)
}

// insecureURLError reports a URL that is neither https nor http on a
// loopback host: the device flow sends no code or token there, and shows no
// such URL.
type insecureURLError struct {
	what string // names the URL, e.g. "token_endpoint" or "request"
	url  string
}

func (e *insecureURLError) Error() string {
	return fmt.Sprintf("deviceflow: %s %q: must use https (plain http is allowed only on a loopback host: localhost, 127.0.0.0/8, ::1)", e.what, sanitize(e.url, 256))
}

// storeError is a failure of the [TokenStore] in operation op ("lock",
// "load", "save" or "delete").
type storeError struct {
	op  string
	err error
}

func (e *storeError) Error() string {
	return fmt.Sprintf("deviceflow: token store %s: %v", e.op, e.err)
}

func (e *storeError) Unwrap() error { return e.err }

// wrapStoreError returns err, of a [TokenStore] operation, as a
// [*storeError], unless it is one already.
func wrapStoreError(op string, err error) error {
	var se *storeError
	if errors.As(err, &se) {
		return err
	}
	return &storeError{op: op, err: err}
}

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
