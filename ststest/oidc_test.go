package ststest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// TestGoOIDCVerifiesMintedTokens checks discovery, JWKS and signatures
// against an independent verifier.
func TestGoOIDCVerifiesMintedTokens(t *testing.T) {
	s, clk := newTestServer(t)
	ctx := oidc.ClientContext(testContext(t), s.HTTPClient())
	provider, err := oidc.NewProvider(ctx, s.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: defaultAudience, Now: clk.Now})
	for _, alg := range supportedAlgs {
		t.Run(alg, func(t *testing.T) {
			tok, err := verifier.Verify(ctx, s.MintToken(Claims{Alg: alg, Subject: "alice"}))
			if err != nil {
				t.Fatal(err)
			}
			if tok.Subject != "alice" || tok.Issuer != s.Issuer() || !tok.Expiry.Equal(clk.Now().Add(time.Hour)) {
				t.Errorf("token = %+v", tok)
			}
		})
	}
	for _, c := range []Claims{{Alg: "none"}, {Alg: "HS256"}, {UnknownKey: true}, {Alg: "ES384", UnknownKey: true}} {
		if _, err := verifier.Verify(ctx, s.MintToken(c)); err == nil {
			t.Errorf("go-oidc accepted %+v", c)
		}
	}
}

func TestDiscoveryDocument(t *testing.T) {
	s, _ := newTestServer(t)
	var d map[string]any
	getJSON(t, s, s.Issuer()+"/.well-known/openid-configuration", &d)
	if d["issuer"] != s.Issuer() || d["jwks_uri"] != s.Issuer()+"/keys" || d["token_endpoint"] != s.Issuer()+"/token" ||
		d["device_authorization_endpoint"] != s.Issuer()+"/device/code" || d["revocation_endpoint"] != s.Issuer()+"/revoke" {
		t.Errorf("discovery = %v", d)
	}
	algs, _ := json.Marshal(d["id_token_signing_alg_values_supported"])
	if string(algs) != `["RS256","RS384","RS512","ES256","ES384","ES512"]` {
		t.Errorf("algs = %s", algs)
	}
	if s.Calls(ActionDiscovery) != 1 {
		t.Errorf("Calls(Discovery) = %d", s.Calls(ActionDiscovery))
	}
}

func TestJWKS(t *testing.T) {
	s, _ := newTestServer(t)
	var set jose.JSONWebKeySet
	getJSON(t, s, s.Issuer()+"/keys", &set)
	if len(set.Keys) != 4 {
		t.Fatalf("%d keys, want 4", len(set.Keys))
	}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() || k.Use != "sig" || kids[k.KeyID] {
			t.Errorf("bad key %+v", k)
		}
		kids[k.KeyID] = true
	}
	if set.Keys[0].Algorithm != "" || set.Keys[1].Algorithm != "ES256" {
		t.Errorf("algs = %q, %q", set.Keys[0].Algorithm, set.Keys[1].Algorithm)
	}
}

func TestMintTokenClaims(t *testing.T) {
	s, clk := newTestServer(t)
	tok := s.MintToken(Claims{
		Subject:   "bob",
		Audience:  "aud1",
		notBefore: clk.Now().Add(-time.Minute),
		keyID:     "my-kid",
		Extra:     map[string]any{"iat": nil, "email": "bob@example.com"},
	})
	parts := strings.Split(tok, ".")
	var h map[string]string
	var c map[string]json.RawMessage
	decodeJSONSegment(t, parts[0], &h)
	decodeJSONSegment(t, parts[1], &c)
	if h["alg"] != "RS256" || h["kid"] != "my-kid" || h["typ"] != "JWT" {
		t.Errorf("header = %v", h)
	}
	want := map[string]string{
		"iss":   `"` + s.Issuer() + `"`,
		"sub":   `"bob"`,
		"aud":   `"aud1"`,
		"email": `"bob@example.com"`,
		"exp":   strconv.FormatInt(epoch.Add(time.Hour).Unix(), 10), // integer seconds
		"nbf":   strconv.FormatInt(epoch.Add(-time.Minute).Unix(), 10),
	}
	for k, v := range want {
		if string(c[k]) != v {
			t.Errorf("%s = %s, want %s", k, c[k], v)
		}
	}
	if _, ok := c["iat"]; ok {
		t.Error("iat not removed")
	}
}

func TestMintTokenPanicsOnUnknownAlg(t *testing.T) {
	s, _ := newTestServer(t)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	s.MintToken(Claims{Alg: "EdDSA"})
}

func TestTLS(t *testing.T) {
	s, _ := newTestServer(t, func(o *Options) { o.TLS = true })
	if !strings.HasPrefix(s.Issuer(), "https://") {
		t.Fatalf("Issuer = %s", s.Issuer())
	}
	if _, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), validInput(s)); err != nil {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, s *Server, url string, v any) {
	t.Helper()
	resp, err := s.HTTPClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func decodeJSONSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		t.Fatal(err)
	}
}
