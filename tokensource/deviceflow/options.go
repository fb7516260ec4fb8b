package deviceflow

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/internal/netutil"
	"github.com/awsoidc/awsoidc/internal/redact"
)

// Defaults and limits.
const (
	// defaultExpiryMargin is how long before its expiry a token stops being
	// served and is renewed with the refresh token.
	defaultExpiryMargin = time.Minute
	// maxResponseSize caps every response body the device flow reads:
	// discovery, device authorization and token responses.
	maxResponseSize = 1 << 20

	// defaultDeviceCodeLifetime is used when a device authorization response
	// lacks the REQUIRED expires_in (RFC 8628 §3.2).
	defaultDeviceCodeLifetime = 10 * time.Minute
	// defaultInterval is the polling interval when the response has none:
	// "If no value is provided, clients MUST use 5 as the default" (RFC 8628
	// §3.2).
	defaultInterval = 5 * time.Second
	// slowDownStep is added to the interval on every slow_down (RFC 8628 §3.5).
	slowDownStep = 5 * time.Second
	// unknownLifetime is how long a token whose expiry is unknown (an opaque
	// access token without expires_in) is served.
	unknownLifetime = 5 * time.Minute
	// defaultHTTPTimeout bounds each request of the default HTTP client.
	defaultHTTPTimeout = 30 * time.Second
)

// defaultScopes are the scopes requested when [Options] Scopes is empty: an
// ID token ("openid") and a refresh token that outlives the session
// ("offline_access", OpenID Connect Core §11).
var defaultScopes = []string{"openid", "offline_access"}

// Options configures a [Source]. Pass functions that modify it to [New]:
//
//	src, err := deviceflow.New(issuer, clientID, func(o *deviceflow.Options) {
//		o.Interactive = true
//	})
type Options struct {
	// ClientSecret authenticates a confidential client (RFC 6749 §2.3.1).
	// Most device-flow clients are public and have none.
	ClientSecret Secret

	// Scopes requested in the device authorization request (RFC 8628 §3.1).
	// Empty means "openid" and "offline_access": an ID token, and a refresh
	// token that outlives the session (OpenID Connect Core §11).
	Scopes []string

	// AuthParams are extra parameters of the device authorization request,
	// e.g. "audience" for identity providers that issue JWT access tokens
	// only for a named API. Each parameter takes one value: [New] refuses
	// a parameter with several (RFC 6749 §3.1), and ignores one with none.
	AuthParams url.Values

	// UseAccessToken sends the access token to STS instead of the ID token,
	// for identity providers that issue JWT access tokens STS accepts.
	UseAccessToken bool

	// Interactive allows [Source.Token] to start a device login, prompting
	// the user, when no usable token or refresh token is stored. When false
	// (the default), Token returns an error matching [ErrLoginRequired]
	// instead, and only [Source.Login] prompts.
	Interactive bool

	// Store keeps the tokens between processes. Nil means a [FileStore] in
	// os.UserCacheDir()/awsoidc/tokens.
	Store TokenStore

	// Prompt shows the verification URI and user code. Nil means plain
	// text on os.Stderr.
	Prompt Prompter

	// AuthStyle says how a client with a ClientSecret authenticates to the
	// device authorization endpoint (RFC 8628 §3.1) and the token endpoint:
	// oauth2.AuthStyleInParams sends client_secret in the request body,
	// oauth2.AuthStyleInHeader uses HTTP Basic (RFC 6749 §2.3.1). Zero
	// means in the request body when there is no ClientSecret (RFC 8628
	// §3.4, public clients) and with HTTP Basic otherwise.
	AuthStyle oauth2.AuthStyle

	// ExpiryMargin is how long before its expiry a token is renewed; it is
	// clamped to half the token's lifetime. Zero means one minute.
	ExpiryMargin time.Duration

	// HTTPClient makes every request. Nil means a client with a 30 s
	// timeout per request. Its transport is wrapped to refuse non-https
	// URLs (except on loopback) and to cap response bodies at 1 MiB.
	HTTPClient *http.Client

	// Logger receives debug and warning events; tokens appear only as
	// fingerprints. Nil means no logging.
	Logger *slog.Logger
}

// Secret is a secret string, such as a client secret, that never prints:
// every fmt verb and slog print "[REDACTED]" (or nothing, when it is
// empty), and encoding/json an empty object. It holds the value behind a
// pointer, so that even a struct of yours that keeps it, or [Options], in
// an unexported field prints no more than an address. Make one with
// [NewSecret].
type Secret struct{ v *string }

// NewSecret returns a Secret holding s.
func NewSecret(s string) Secret { return Secret{v: &s} }

// reveal returns the secret.
func (s Secret) reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// Format implements [fmt.Formatter].
func (s Secret) Format(f fmt.State, verb rune) { redact.New(s.reveal()).Format(f, verb) }

// validateIssuer checks the issuer URL (OpenID Connect Discovery 1.0 §2:
// https, no query or fragment).
func validateIssuer(issuer string) error {
	if issuer == "" {
		return &ValidationError{Field: "issuer", Rule: "must not be empty"}
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return &ValidationError{Field: "issuer", Value: sanitize(issuer, 256), Rule: "must be an absolute https URL"}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return &ValidationError{Field: "issuer", Value: sanitize(issuer, 256), Rule: "must have no query, fragment or user info"}
	}
	if !secureURL(u) {
		return &ValidationError{Field: "issuer", Value: sanitize(issuer, 256), Rule: "must use https; plain http is allowed only on a loopback host (localhost, 127.0.0.0/8, ::1)"}
	}
	return nil
}

// secureURL reports whether u is https, or http on a loopback host.
func secureURL(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Host != ""
	case "http":
		return netutil.IsLoopback(u.Hostname())
	}
	return false
}

// checkURL returns an [*insecureURLError] unless raw is an absolute https
// URL, or http on a loopback host.
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || !secureURL(u) {
		return &insecureURLError{what: what, url: raw}
	}
	return nil
}

// validateOptions normalizes o in place or returns a [*ValidationError].
func validateOptions(o *Options) error {
	if len(o.Scopes) == 0 {
		o.Scopes = append([]string(nil), defaultScopes...)
	} else {
		o.Scopes = append([]string(nil), o.Scopes...)
	}
	for _, s := range o.Scopes {
		// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x22 || r == 0x5c || r > 0x7e }) {
			return &ValidationError{Field: "Scopes", Value: sanitize(s, 64), Rule: "each scope must be a non-empty RFC 6749 §3.3 scope-token (printable ASCII, no space, quote or backslash)"}
		}
	}
	if !o.UseAccessToken && !slices.Contains(o.Scopes, "openid") {
		return &ValidationError{Field: "Scopes", Rule: `must include "openid" to get an ID token (or set UseAccessToken)`}
	}
	if o.ExpiryMargin < 0 {
		return &ValidationError{Field: "ExpiryMargin", Value: o.ExpiryMargin.String(), Rule: "must not be negative"}
	}
	if o.ExpiryMargin == 0 {
		o.ExpiryMargin = defaultExpiryMargin
	}
	switch o.AuthStyle {
	case oauth2.AuthStyleAutoDetect:
		if o.ClientSecret.reveal() == "" {
			o.AuthStyle = oauth2.AuthStyleInParams
		} else {
			o.AuthStyle = oauth2.AuthStyleInHeader
		}
	case oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader:
	default:
		return &ValidationError{Field: "AuthStyle", Value: fmt.Sprint(int(o.AuthStyle)), Rule: "must be oauth2.AuthStyleInParams or oauth2.AuthStyleInHeader"}
	}
	if o.AuthParams != nil {
		p := make(url.Values, len(o.AuthParams))
		for k, v := range o.AuthParams {
			switch k {
			case "client_id", "scope", "client_secret":
				return &ValidationError{Field: "AuthParams", Value: k, Rule: "must not set client_id, client_secret or scope (use the arguments and Options fields)"}
			}
			switch len(v) {
			case 0:
				continue // no value: not sent
			case 1:
			default:
				return &ValidationError{Field: "AuthParams", Value: k, Rule: fmt.Sprintf("has %d values; give one value per parameter (RFC 6749 §3.1: request parameters must not be included more than once)", len(v))}
			}
			p[k] = []string{v[0]}
		}
		o.AuthParams = p
	}
	return nil
}
