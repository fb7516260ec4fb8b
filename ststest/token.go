package ststest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Grant types of the token endpoint.
const (
	grantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefreshToken = "refresh_token"
)

// refreshGrant is an issued refresh token.
type refreshGrant struct {
	client   *Client
	subject  string
	scope    string
	audience string
	family   *tokenFamily
	expires  time.Time // zero: never
	used     bool      // rotated away
}

// tokenFamily links the refresh tokens of one login, for reuse detection.
type tokenFamily struct{ revoked bool }

// serveToken is the token endpoint: the device_code grant (RFC 8628 §3.4,
// §3.5) and the refresh_token grant (RFC 6749 §6).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, ActionToken, kindOAuth) {
		return
	}
	form, ok := s.readForm(w, r)
	if !ok {
		return
	}
	c := s.authenticateClient(w, r, form, false)
	if c == nil {
		return
	}
	switch form.Get("grant_type") {
	case grantDeviceCode:
		s.deviceCodeGrant(w, c, form.Get("device_code"))
	case grantRefreshToken:
		s.refreshTokenGrant(w, c, form.Get("refresh_token"))
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing grant_type")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Supported: "+grantDeviceCode+", "+grantRefreshToken)
	}
}

// deviceCodeGrant answers a poll: authorization_pending, slow_down,
// access_denied or expired_token while there are no tokens, then tokens once
// after approval, then invalid_grant.
func (s *Server) deviceCodeGrant(w http.ResponseWriter, c *Client, deviceCode string) {
	now := s.now()
	s.mu.Lock()
	g := s.devices[deviceCode]
	if g == nil || g.client.ID != c.ID {
		s.mu.Unlock()
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Unknown device code")
		return
	}
	if g.state == devicePending && !now.Before(g.expires) {
		g.state = deviceExpired
	}
	tooFast := c.EnforceInterval && !g.lastPoll.IsZero() && now.Sub(g.lastPoll) < g.interval
	g.lastPoll = now
	if g.slowDowns > 0 || tooFast {
		g.slowDowns = max(g.slowDowns-1, 0)
		g.interval += 5 * time.Second
		s.mu.Unlock()
		writeOAuthError(w, http.StatusBadRequest, "slow_down", "Polling too fast: add 5 seconds to the interval")
		return
	}
	state, subject := g.state, g.subject
	if state == deviceApproved {
		g.state = deviceConsumed
	}
	s.mu.Unlock()

	switch state {
	case devicePending:
		writeOAuthError(w, http.StatusBadRequest, "authorization_pending", "The user has not yet approved the request")
	case deviceDenied:
		writeOAuthError(w, http.StatusBadRequest, "access_denied", "The user denied the request")
	case deviceExpired:
		writeOAuthError(w, http.StatusBadRequest, "expired_token", "The device code has expired")
	case deviceConsumed:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The device code was already used")
	case deviceApproved:
		s.writeTokens(w, c, subject, g.scope, g.audience, &tokenFamily{}, true, true)
	}
}

// refreshTokenGrant exchanges a refresh token, rotating it when the client
// asks for rotation.
func (s *Server) refreshTokenGrant(w http.ResponseWriter, c *Client, token string) {
	now := s.now()
	s.mu.Lock()
	rg := s.refreshTokens[token]
	var problem string
	switch {
	case rg == nil || rg.client.ID != c.ID:
		problem = "Unknown refresh token"
	case rg.family.revoked:
		problem = "The refresh token was revoked"
	case !rg.expires.IsZero() && !now.Before(rg.expires):
		problem = "The refresh token has expired"
	case rg.used:
		problem = "The refresh token was already used"
		if c.ReuseRevokesFamily {
			rg.family.revoked = true
		}
	case c.RotateRefreshTokens:
		rg.used = true
	}
	s.mu.Unlock()
	if problem != "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", problem)
		return
	}
	s.writeTokens(w, c, rg.subject, rg.scope, rg.audience, rg.family, !c.noIDTokenOnRefresh, c.RotateRefreshTokens)
}

// writeTokens issues an access token, an ID token (scope openid, when
// withIDToken) and a refresh token (scope offline_access, when
// withRefreshToken) as a token response (RFC 6749 §5.1, OpenID Connect Core
// §3.1.3.3). Refresh responses without rotation carry no refresh token: the
// client keeps the one it has.
func (s *Server) writeTokens(w http.ResponseWriter, c *Client, subject, scope, audience string, family *tokenFamily, withIDToken, withRefreshToken bool) {
	now := s.now()
	scopes := strings.Fields(scope)
	resp := map[string]any{
		"token_type": "Bearer",
		"expires_in": int(c.accessTokenTTL / time.Second),
	}
	if scope != "" {
		resp["scope"] = scope
	}
	if audience == "" {
		audience = c.ID
	}
	if c.opaqueAccessTokens {
		resp["access_token"] = "at_" + randomString(base64url, 43)
	} else {
		resp["access_token"] = s.MintToken(Claims{
			Subject:  subject,
			Audience: audience,
			Expiry:   now.Add(c.accessTokenTTL),
			IssuedAt: now,
			Extra: map[string]any{
				"client_id": c.ID,
				"scope":     scope,
				"jti":       randomString(base64url, 22),
			},
		})
	}
	if withIDToken && slices.Contains(scopes, "openid") {
		resp["id_token"] = s.MintToken(Claims{
			Subject:  subject,
			Audience: c.ID,
			Expiry:   now.Add(c.IDTokenTTL),
			IssuedAt: now,
			Extra:    map[string]any{"azp": c.ID, "auth_time": now.Unix()},
		})
	}
	if withRefreshToken && !c.noRefreshToken && slices.Contains(scopes, "offline_access") {
		rt := "rt_" + randomString(base64url, 43)
		rg := &refreshGrant{client: c, subject: subject, scope: scope, audience: audience, family: family}
		if c.refreshTokenTTL > 0 {
			rg.expires = now.Add(c.refreshTokenTTL)
		}
		s.mu.Lock()
		s.refreshTokens[rt] = rg
		s.mu.Unlock()
		resp["refresh_token"] = rt
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}
