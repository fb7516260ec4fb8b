package ststest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxTokenLength is the longest WebIdentityToken STS accepts.
const maxTokenLength = 20000

// idToken is a web identity token whose signature and claims have been
// checked.
type idToken struct {
	iss            string
	sub            string
	aud            []string
	exp            time.Time
	sourceIdentity string
}

// header is the part of a JOSE header STS looks at.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func invalidToken(format string, args ...any) *apiError {
	return newError("InvalidIdentityToken", fmt.Sprintf(format, args...))
}

// verifyToken validates raw as STS does: well-formed compact JWS, an
// accepted alg, an issuer with a registered OIDC provider, a key with the
// token's kid in the issuer's JWKS, a valid signature, exp in the future,
// nbf in the past and an audience registered for the issuer.
func (s *Server) verifyToken(ctx context.Context, raw string) (*idToken, *apiError) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, invalidToken("The web identity token is not a well-formed JWT")
	}
	var h header
	if err := decodeSegment(parts[0], &h); err != nil {
		return nil, invalidToken("The web identity token has a malformed header")
	}
	if !slices.Contains(supportedAlgs, h.Alg) {
		return nil, invalidToken("Unsupported signing algorithm %q; use one of %s", h.Alg, strings.Join(supportedAlgs, ", "))
	}
	var unverified struct {
		Iss string `json:"iss"`
	}
	if err := decodeSegment(parts[1], &unverified); err != nil || unverified.Iss == "" {
		return nil, invalidToken("The web identity token has no valid iss claim")
	}
	iss := unverified.Iss

	s.mu.Lock()
	registered := s.audiences[iss]
	s.mu.Unlock()
	if registered == nil {
		return nil, invalidToken("No OpenIDConnect provider found in your account for %s", iss)
	}

	keys, err := s.issuerKeys(ctx, iss)
	if err != nil {
		s.opts.logger.Debug("ststest: fetching issuer keys", "issuer", iss, "error", err)
		return nil, newError("IDPCommunicationError", "")
	}
	payload, apiErr := verifySignature(raw, h, keys)
	if apiErr != nil {
		return nil, apiErr
	}
	tok, apiErr := parseClaims(payload)
	if apiErr != nil {
		return nil, apiErr
	}
	if tok.iss != iss {
		return nil, invalidToken("The web identity token has no valid iss claim")
	}
	if apiErr := tok.checkTimes(s.now(), payload); apiErr != nil {
		return nil, apiErr
	}
	s.mu.Lock()
	ok := slices.ContainsFunc(tok.aud, func(a string) bool { return s.audiences[iss][a] })
	s.mu.Unlock()
	if !ok {
		return nil, invalidToken("Incorrect token audience")
	}
	return tok, nil
}

// verifySignature checks raw against the keys with h.Kid (all keys when the
// token has no kid) and returns the verified payload.
func verifySignature(raw string, h header, keys []jose.JSONWebKey) ([]byte, *apiError) {
	var candidates []jose.JSONWebKey
	for _, k := range keys {
		if h.Kid == "" || k.KeyID == h.Kid {
			candidates = append(candidates, k)
		}
	}
	if len(candidates) == 0 {
		return nil, invalidToken("No key in the identity provider's JWKS matches the token's kid %q", h.Kid)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(h.Alg)})
	if err != nil {
		return nil, invalidToken("The web identity token is not a well-formed JWS")
	}
	for _, k := range candidates {
		if payload, err := jws.Verify(k); err == nil {
			return payload, nil
		}
	}
	return nil, invalidToken("The web identity token's signature could not be verified")
}

// parseClaims reads the claims STS uses from a verified payload.
func parseClaims(payload []byte) (*idToken, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil {
		return nil, invalidToken("The web identity token's claims are not a JSON object")
	}
	tok := &idToken{}
	var ok bool
	if tok.iss, ok = c["iss"].(string); !ok {
		return nil, invalidToken("The web identity token has no valid iss claim")
	}
	if tok.sub, ok = c["sub"].(string); !ok || tok.sub == "" {
		return nil, invalidToken("The web identity token has no valid sub claim")
	}
	switch aud := c["aud"].(type) {
	case string:
		tok.aud = []string{aud}
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok {
				tok.aud = append(tok.aud, s)
			}
		}
	}
	if len(tok.aud) == 0 {
		return nil, invalidToken("The web identity token has no valid aud claim")
	}
	if v, present := c[sourceIdentityClaim]; present {
		if tok.sourceIdentity, ok = v.(string); !ok {
			return nil, invalidToken("The %s claim must be a string", sourceIdentityClaim)
		}
	}
	return tok, nil
}

// checkTimes validates exp (required) and nbf (optional) against now.
func (tok *idToken) checkTimes(now time.Time, payload []byte) *apiError {
	var c struct {
		Exp *json.RawMessage `json:"exp"`
		Nbf *json.RawMessage `json:"nbf"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return invalidToken("The web identity token's exp or nbf claim is not a number")
	}
	if c.Exp == nil {
		return invalidToken("The web identity token has no exp claim")
	}
	exp, ok := numericDate(*c.Exp)
	if !ok {
		return invalidToken("The web identity token's exp claim is not an integer NumericDate")
	}
	tok.exp = exp
	if !now.Before(exp) {
		// AWS's message, including its missing space.
		return newError("ExpiredTokenException", fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time%d", now.Unix(), exp.Unix()))
	}
	if c.Nbf != nil {
		nbf, ok := numericDate(*c.Nbf)
		if !ok {
			return invalidToken("The web identity token's nbf claim is not an integer NumericDate")
		}
		if now.Before(nbf) {
			return invalidToken("The web identity token is not valid before %d", nbf.Unix())
		}
	}
	return nil
}

// numericDate converts a JWT NumericDate. STS accepts only whole seconds
// written as a JSON integer: a fractional ("1700000000.5"), exponent
// ("1.7e9") or quoted value makes the token invalid.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 || n > 1e12 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
