package deviceflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// Tokens are the tokens of one login, as a [TokenStore] keeps them.
//
// Tokens prints redacted with every fmt verb and through slog: the token
// values appear only as fingerprints. Inside your own structs, hold Tokens
// in exported fields: fmt prints unexported fields by reflection, without
// calling Format, and a pointer in one is followed by every verb but %v
// (%s, %d, %x print the struct it points to).
type Tokens struct {
	// Issuer and ClientID identify the login.
	Issuer   string
	ClientID string
	// IDToken is the OpenID Connect ID token, and IDTokenExpiry its "exp".
	IDToken       string
	IDTokenExpiry time.Time
	// AccessToken is the OAuth 2.0 access token, and AccessTokenExpiry its
	// expiry ("exp" of a JWT access token, else from expires_in; zero when
	// unknown).
	AccessToken       string
	AccessTokenExpiry time.Time
	// RefreshToken renews the other two (RFC 6749 §6); empty when the
	// identity provider issued none.
	RefreshToken string
	// Obtained is when the tokens were issued, on the [Source]'s clock.
	Obtained time.Time
}

// describe returns a redacted description of t.
func (t Tokens) describe() string {
	return fmt.Sprintf("deviceflow.Tokens{Issuer:%s ClientID:%s IDToken:%s IDTokenExpiry:%s AccessToken:%s AccessTokenExpiry:%s RefreshToken:%s Obtained:%s}",
		t.Issuer, t.ClientID,
		fingerprint(t.IDToken), fmtTime(t.IDTokenExpiry),
		fingerprint(t.AccessToken), fmtTime(t.AccessTokenExpiry),
		fingerprint(t.RefreshToken), fmtTime(t.Obtained))
}

// Format implements [fmt.Formatter]: every verb prints the redacted form.
func (t Tokens) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.describe())) }

// LogValue implements [slog.LogValuer].
func (t Tokens) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer", t.Issuer),
		slog.String("id_token", redact.Fingerprint(t.IDToken)),
		slog.Time("id_token_expiry", t.IDTokenExpiry),
		slog.String("access_token", redact.Fingerprint(t.AccessToken)),
		slog.String("refresh_token", redact.Fingerprint(t.RefreshToken)),
	)
}

func fingerprint(s string) string {
	if s == "" {
		return `""`
	}
	return redact.Placeholder + "(" + redact.Fingerprint(s) + ")"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return t.UTC().Format(time.RFC3339)
}

// TokenStore keeps [Tokens] between processes, by key. A [Source] uses the
// key [StoreKey] returns for its issuer, client and options.
//
// Lock must exclude every other holder of the same key, in this process and
// in others, until unlock is called: a [Source] holds it while it re-loads,
// refreshes and saves, so that a rotated refresh token is never lost
// (aws/aws-cli#10628). A Source also locks the key + " login", under which
// nothing is stored, while a device login waits for the user: that lock
// serializes device logins across processes without holding the first.
// unlock may be called from another goroutine than the one that called Lock.
// Implementations must be safe for concurrent use and honour ctx while they
// wait.
type TokenStore interface {
	// Load returns the stored tokens, and false when there are none. A
	// corrupt entry is a miss, not an error.
	Load(ctx context.Context, key string) (*Tokens, bool, error)
	// Save stores t, replacing any tokens under key.
	Save(ctx context.Context, key string, t *Tokens) error
	// Delete removes the tokens under key. A missing entry is not an error.
	Delete(ctx context.Context, key string) error
	// Lock takes the lock of key, waiting until it is free or ctx is done.
	Lock(ctx context.Context, key string) (unlock func() error, err error)
}

// StoreKey returns the key under which the [Source] that New(issuer,
// clientID, optFns...) returns stores its tokens.
//
// Logins that ask for different tokens have keys of their own: the key
// holds the scopes (sorted, without duplicates), the [Options] AuthParams
// (sorted) and UseAccessToken, so that a login with another scope or
// audience is never served the tokens of this one. With the default scopes,
// no AuthParams and the ID token, the key is "issuer clientID". The other
// options do not change the key.
func StoreKey(issuer, clientID string, optFns ...func(*Options)) string {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	return storeKey(issuer, clientID, &o)
}

// storeKey is [StoreKey] of the options o.
func storeKey(issuer, clientID string, o *Options) string {
	key := issuer + " " + clientID
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = defaultScopes
	}
	sorted := slices.Compact(slices.Sorted(slices.Values(scopes)))
	if !slices.Equal(sorted, slices.Sorted(slices.Values(defaultScopes))) {
		key += " scope=" + strings.Join(sorted, " ")
	}
	params := make(url.Values, len(o.AuthParams))
	for k, vs := range o.AuthParams {
		if len(vs) > 0 {
			params[k] = slices.Sorted(slices.Values(vs))
		}
	}
	if len(params) > 0 {
		key += " params=" + params.Encode() // sorted by name
	}
	if o.UseAccessToken {
		key += " access_token"
	}
	return key
}

// storeVersion is the version of the stored JSON format.
const storeVersion = 1

// storedJSON is the stored JSON format. It lives only inside
// encodeTokens and decodeTokens.
type storedJSON struct {
	Version           int       `json:"version"`
	Issuer            string    `json:"issuer"`
	ClientID          string    `json:"client_id"`
	IDToken           string    `json:"id_token,omitempty"`
	IDTokenExpiry     time.Time `json:"id_token_expiry,omitzero"`
	AccessToken       string    `json:"access_token,omitempty"`
	AccessTokenExpiry time.Time `json:"access_token_expiry,omitzero"`
	RefreshToken      string    `json:"refresh_token,omitempty"`
	Obtained          time.Time `json:"obtained,omitzero"`
}

// encodeTokens returns the stored JSON form of t.
func encodeTokens(t *Tokens) ([]byte, error) {
	return json.MarshalIndent(storedJSON{
		Version:           storeVersion,
		Issuer:            t.Issuer,
		ClientID:          t.ClientID,
		IDToken:           t.IDToken,
		IDTokenExpiry:     t.IDTokenExpiry.UTC(),
		AccessToken:       t.AccessToken,
		AccessTokenExpiry: t.AccessTokenExpiry.UTC(),
		RefreshToken:      t.RefreshToken,
		Obtained:          t.Obtained.UTC(),
	}, "", "  ")
}

// errCorrupt is returned by decodeTokens for data that is not a stored
// token file of a known version.
var errCorrupt = errors.New("not a valid token file")

// decodeTokens parses the stored JSON form. Anything but a well-formed
// object of the current version, with at least one token, is errCorrupt:
// callers treat it as a miss.
func decodeTokens(data []byte) (*Tokens, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var s storedJSON
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, jsonErrorClass(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", errCorrupt)
	}
	if s.Version != storeVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", errCorrupt, s.Version, storeVersion)
	}
	if s.Issuer == "" || s.ClientID == "" {
		return nil, fmt.Errorf("%w: no issuer or client_id", errCorrupt)
	}
	if s.IDToken == "" && s.AccessToken == "" && s.RefreshToken == "" {
		return nil, fmt.Errorf("%w: no token", errCorrupt)
	}
	return &Tokens{
		Issuer:            s.Issuer,
		ClientID:          s.ClientID,
		IDToken:           s.IDToken,
		IDTokenExpiry:     s.IDTokenExpiry,
		AccessToken:       s.AccessToken,
		AccessTokenExpiry: s.AccessTokenExpiry,
		RefreshToken:      s.RefreshToken,
		Obtained:          s.Obtained,
	}, nil
}

// jsonErrorClass describes a JSON error without quoting the input, which
// may hold a token.
func jsonErrorClass(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("JSON syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("JSON field %q has the wrong type", te.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "invalid JSON"
}
