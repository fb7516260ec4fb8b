package ststest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Client is an OAuth 2.0 client registered with the identity provider for
// the device authorization grant (RFC 8628) and the refresh token grant.
// Zero fields get the defaults listed.
type Client struct {
	// ID is the client_id. Its ID tokens carry it as "aud", and it is
	// registered as a client ID (audience) of the server's issuer for STS.
	ID string
	// Secret, when set, makes the client confidential: its requests to
	// every endpoint, the device authorization endpoint included (RFC 8628
	// §3.1), must authenticate with client_secret_basic or
	// client_secret_post (RFC 6749 §2.3.1). Empty means a public client
	// identified by client_id alone.
	Secret string

	// RotateRefreshTokens issues a new refresh token on every refresh and
	// invalidates the one used; presenting a used one answers invalid_grant.
	RotateRefreshTokens bool
	// ReuseRevokesFamily, with rotation, also revokes every refresh token
	// descended from the same login when a used one is presented, as IdPs
	// with refresh token reuse detection do.
	ReuseRevokesFamily bool

	// IDTokenTTL is the lifetime of ID tokens. Default 1h. Access tokens
	// live 1h; refresh tokens do not expire. A refresh token is issued when
	// the scope includes "offline_access".
	IDTokenTTL time.Duration
	// DeviceCodeTTL is the lifetime of device codes (expires_in). Default 10m.
	DeviceCodeTTL time.Duration
	// Interval is the polling interval of device authorization responses.
	// Default 5s; a negative value omits the field.
	Interval time.Duration
	// EnforceInterval answers slow_down (RFC 8628 §3.5) when the client
	// polls sooner than the interval after its previous poll, measured with
	// [Options.Now] (so only meaningful when client and server share a
	// clock), and adds 5s to the interval each time.
	EnforceInterval bool

	// Set by this package's tests:
	noRefreshToken     bool          // never issue a refresh token
	noIDTokenOnRefresh bool          // omit the ID token from refresh responses
	opaqueAccessTokens bool          // random access tokens instead of JWTs
	accessTokenTTL     time.Duration // expires_in of access tokens; default 1h
	refreshTokenTTL    time.Duration // lifetime of refresh tokens; default none
}

// Format prints c with its Secret redacted, for every verb.
func (c Client) Format(f fmt.State, verb rune) {
	type plain Client // no methods: no recursion
	p := plain(c)
	if p.Secret != "" {
		p.Secret = "[REDACTED]"
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// AddClient registers c (replacing a client with the same ID) and registers
// c.ID as an audience of [Server.Issuer]. A role trusts the client's tokens
// when its Audience is c.ID.
func (s *Server) AddClient(c Client) {
	if c.IDTokenTTL <= 0 {
		c.IDTokenTTL = time.Hour
	}
	if c.accessTokenTTL <= 0 {
		c.accessTokenTTL = time.Hour
	}
	if c.DeviceCodeTTL <= 0 {
		c.DeviceCodeTTL = 10 * time.Minute
	}
	if c.Interval == 0 {
		c.Interval = 5 * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = &c
	s.addAudienceLocked(s.Issuer(), c.ID)
}

// authenticateClient returns the client a request comes from, checking the
// secret of a confidential client (client_secret_basic or
// client_secret_post, RFC 6749 §2.3.1), or writes invalid_client (RFC 6749
// §5.2) and returns nil. Every endpoint of a client authenticates it alike:
// the token and revocation endpoints, and the device authorization endpoint
// too (RFC 8628 §3.1 applies RFC 6749 §2.3 there), as Okta and Keycloak do.
//
// secretOptional lets a confidential client omit its secret (a wrong one
// still fails). No endpoint uses it any more: the device authorization
// endpoint did, which hid clients that never authenticate there.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, form url.Values, secretOptional bool) *Client {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both parts are form-urlencoded.
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	s.mu.Lock()
	c, ok := s.clients[id]
	s.mu.Unlock()
	skip := secretOptional && secret == ""
	if !ok || (c.Secret != "" && !skip && subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1) {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="ststest"`)
		}
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return nil
	}
	return c
}
