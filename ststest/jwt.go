package ststest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Claims describes a token for [Server.MintToken]. Zero fields get defaults,
// so Claims{} mints a token this server's STS accepts for a role added with
// default trust.
type Claims struct {
	// Issuer is "iss". Default [Server.Issuer].
	Issuer string
	// Subject is "sub". Default "ststest-subject".
	Subject string
	// Audience is "aud". Default [Options.Audience]. For several audiences
	// set Extra["aud"] to a []string.
	Audience string
	// Expiry is "exp". Default Now()+1h. Timestamps are written as integer
	// seconds, as STS requires.
	Expiry time.Time
	// IssuedAt is "iat". Default Now().
	IssuedAt time.Time

	// Alg is the JWS algorithm. Default "RS256". RS256/384/512 and
	// ES256/384/512 are signed with published keys and accepted by STS.
	// PS256/384/512 are signed with the published RSA key, HS256/384/512
	// with an HMAC keyed by the RSA public key (the classic algorithm
	// confusion attack) and "none" is unsigned: STS rejects all of these
	// with InvalidIdentityToken.
	Alg string
	// UnknownKey signs with a key of the right type that is not in the
	// JWKS, under its own kid: STS answers InvalidIdentityToken.
	UnknownKey bool

	// Extra claims are added last and override the ones above; a nil value
	// removes a claim (e.g. Extra["exp"] = nil mints a token without exp).
	// Timestamps such as "nbf" are integer seconds (t.Unix()). The claim
	// "https://aws.amazon.com/source_identity" becomes the session's
	// SourceIdentity.
	Extra map[string]any

	notBefore time.Time // "nbf", set by this package's tests; omitted when zero
	keyID     string    // overrides the "kid" header, set by this package's tests
}

// sourceIdentityClaim is the claim STS copies into SourceIdentity.
const sourceIdentityClaim = "https://aws.amazon.com/source_identity"

// MintToken returns a compact JWT signed as c describes. It panics on an
// unsupported Alg or unmarshalable Extra claims: it is a test helper.
func (s *Server) MintToken(c Claims) string {
	tok, err := s.mint(c)
	if err != nil {
		panic(err)
	}
	return tok
}

func (s *Server) mint(c Claims) (string, error) {
	now := s.now()
	if c.Issuer == "" {
		c.Issuer = s.Issuer()
	}
	if c.Subject == "" {
		c.Subject = "ststest-subject"
	}
	if c.Audience == "" {
		c.Audience = s.opts.Audience
	}
	if c.Expiry.IsZero() {
		c.Expiry = now.Add(time.Hour)
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if c.Alg == "" {
		c.Alg = "RS256"
	}
	claims := map[string]any{
		"iss": c.Issuer,
		"sub": c.Subject,
		"aud": c.Audience,
		"exp": c.Expiry.Unix(),
		"iat": c.IssuedAt.Unix(),
	}
	if !c.notBefore.IsZero() {
		claims["nbf"] = c.notBefore.Unix()
	}
	for k, v := range c.Extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("ststest: marshaling claims: %w", err)
	}
	return s.sign(c, payload)
}

// sign serializes payload as a compact JWS per c.Alg, c.keyID and
// c.UnknownKey.
func (s *Server) sign(c Claims, payload []byte) (string, error) {
	ks := s.keys
	if c.UnknownKey {
		var err error
		if ks, err = ks.unknown(); err != nil {
			return "", err
		}
	}
	key, err := ks.forAlg(c.Alg)
	if err != nil {
		return "", err
	}
	kid := key.kid
	if c.keyID != "" {
		kid = c.keyID
	}
	switch {
	case c.Alg == "none":
		return encodeSegment(joseHeader("none", kid)) + "." + encodeSegment(payload) + ".", nil
	case strings.HasPrefix(c.Alg, "HS"):
		der, err := x509.MarshalPKIXPublicKey(key.priv.Public())
		if err != nil {
			return "", err
		}
		input := encodeSegment(joseHeader(c.Alg, kid)) + "." + encodeSegment(payload)
		mac := hmac.New(hmacHash(c.Alg), der)
		mac.Write([]byte(input))
		return input + "." + encodeSegment(mac.Sum(nil)), nil
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(c.Alg),
		Key:       jose.JSONWebKey{Key: key.priv, KeyID: kid},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("ststest: signer for %s: %w", c.Alg, err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("ststest: signing %s: %w", c.Alg, err)
	}
	return jws.CompactSerialize()
}

func joseHeader(alg, kid string) []byte {
	b, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	return b
}

func encodeSegment(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func hmacHash(alg string) func() hash.Hash {
	switch alg {
	case "HS384":
		return sha512.New384
	case "HS512":
		return sha512.New
	}
	return sha256.New
}
