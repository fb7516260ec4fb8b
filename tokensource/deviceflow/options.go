package deviceflow

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/redact"
)

// Defaults and limits.
const (
	// DefaultExpiryMargin is how long before its expiry a token stops being
	// served and is renewed with the refresh token.
	DefaultExpiryMargin = time.Minute
	// MaxResponseSize caps every response body the device flow reads:
	// discovery, device authorization and token responses.
	MaxResponseSize = 1 << 20

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

// DefaultScopes are the scopes requested when [Options] Scopes is empty: an
// ID token ("openid") and a refresh token that outlives the session
// ("offline_access", OpenID Connect Core §11).
var DefaultScopes = []string{"openid", "offline_access"}

// Options configures a [Source]. Pass functions that modify it to [New]:
//
//	src, err := deviceflow.New(issuer, clientID, func(o *deviceflow.Options) {
//		o.Interactive = true
//	})
//
// Options prints the client secret redacted with every fmt verb.
type Options struct {
	// ClientSecret authenticates a confidential client (RFC 6749 §2.3.1).
	// Most device-flow clients are public and have none. Options and
	// [Source] print it redacted.
	ClientSecret string

	// Scopes requested in the device authorization request (RFC 8628 §3.1).
	// Empty means [DefaultScopes].
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
	// (the default), Token returns a [*LoginRequiredError] instead, and only
	// [Source.Login] prompts.
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
	// clamped to half the token's lifetime. Zero means
	// [DefaultExpiryMargin].
	ExpiryMargin time.Duration

	// HTTPClient makes every request. Nil means a client with a 30 s
	// timeout. Its transport is wrapped to refuse non-https URLs (except
	// on loopback) and to cap response bodies at [MaxResponseSize].
	HTTPClient *http.Client

	// Clock tells the time for expiry decisions and polling waits. Nil means
	// the wall clock.
	Clock clock.Clock

	// Logger receives debug and warning events; tokens appear only as
	// fingerprints. Nil means no logging.
	Logger *slog.Logger
}

// String returns a redacted description of the options.
func (o Options) String() string {
	return fmt.Sprintf("deviceflow.Options{ClientSecret:%s Scopes:%q UseAccessToken:%t Interactive:%t ExpiryMargin:%s}",
		redact.New(o.ClientSecret), o.Scopes, o.UseAccessToken, o.Interactive, o.ExpiryMargin)
}

// GoString implements [fmt.GoStringer].
func (o Options) GoString() string { return o.String() }

// Format implements [fmt.Formatter]: every verb prints the redacted form.
func (o Options) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(o.String())) }

// LogValue implements [slog.LogValuer]: the redacted form.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// MarshalJSON encodes the redacted form, so that no encoder prints the
// client secret.
func (o Options) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

// validateIssuer checks the issuer URL (OpenID Connect Discovery 1.0 §2:
// https, no query or fragment).
func validateIssuer(issuer string) error {
	if issuer == "" {
		return &ConfigError{Field: "issuer", Rule: "must not be empty"}
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return &ConfigError{Field: "issuer", Value: sanitize(issuer, 256), Rule: "must be an absolute https URL"}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return &ConfigError{Field: "issuer", Value: sanitize(issuer, 256), Rule: "must have no query, fragment or user info"}
	}
	if !secureURL(u) {
		return &ConfigError{Field: "issuer", Value: sanitize(issuer, 256), Rule: "must use https; plain http is allowed only on a loopback host (localhost, 127.0.0.0/8, ::1)"}
	}
	return nil
}

// secureURL reports whether u is https, or http on a loopback host.
func secureURL(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Host != ""
	case "http":
		return isLoopback(u.Hostname())
	}
	return false
}

// isLoopback reports whether host is "localhost" or a loopback IP literal.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkURL returns an [*InsecureURLError] unless raw is an absolute https
// URL, or http on a loopback host.
func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || !secureURL(u) {
		return &InsecureURLError{What: what, URL: raw}
	}
	return nil
}

// validateOptions normalizes o in place or returns a [*ConfigError].
func validateOptions(o *Options) error {
	if len(o.Scopes) == 0 {
		o.Scopes = append([]string(nil), DefaultScopes...)
	} else {
		o.Scopes = append([]string(nil), o.Scopes...)
	}
	for _, s := range o.Scopes {
		// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r == 0x22 || r == 0x5c || r > 0x7e }) {
			return &ConfigError{Field: "Scopes", Value: sanitize(s, 64), Rule: "each scope must be a non-empty RFC 6749 §3.3 scope-token (printable ASCII, no space, quote or backslash)"}
		}
	}
	if !o.UseAccessToken && !slices.Contains(o.Scopes, "openid") {
		return &ConfigError{Field: "Scopes", Rule: `must include "openid" to get an ID token (or set UseAccessToken)`}
	}
	if o.ExpiryMargin < 0 {
		return &ConfigError{Field: "ExpiryMargin", Value: o.ExpiryMargin.String(), Rule: "must not be negative"}
	}
	if o.ExpiryMargin == 0 {
		o.ExpiryMargin = DefaultExpiryMargin
	}
	switch o.AuthStyle {
	case oauth2.AuthStyleAutoDetect:
		if o.ClientSecret == "" {
			o.AuthStyle = oauth2.AuthStyleInParams
		} else {
			o.AuthStyle = oauth2.AuthStyleInHeader
		}
	case oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader:
	default:
		return &ConfigError{Field: "AuthStyle", Value: fmt.Sprint(int(o.AuthStyle)), Rule: "must be oauth2.AuthStyleInParams or oauth2.AuthStyleInHeader"}
	}
	if o.AuthParams != nil {
		p := make(url.Values, len(o.AuthParams))
		for k, v := range o.AuthParams {
			switch k {
			case "client_id", "scope", "client_secret":
				return &ConfigError{Field: "AuthParams", Value: k, Rule: "must not set client_id, client_secret or scope (use the arguments and Options fields)"}
			}
			switch len(v) {
			case 0:
				continue // no value: not sent
			case 1:
			default:
				return &ConfigError{Field: "AuthParams", Value: k, Rule: fmt.Sprintf("has %d values; give one value per parameter (RFC 6749 §3.1: request parameters must not be included more than once)", len(v))}
			}
			p[k] = []string{v[0]}
		}
		o.AuthParams = p
	}
	return nil
}
