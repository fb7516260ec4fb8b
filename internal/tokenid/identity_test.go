package tokenid

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// makeJWT returns a JWT-shaped token (junk signature) with the given claims.
func makeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(claims)
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(b) + ".c2ln"
}

func TestOf(t *testing.T) {
	base := map[string]any{"iss": "https://idp", "sub": "job-a", "aud": "sts.amazonaws.com", "exp": 100, "iat": 1, "jti": "1"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	id := Of(makeJWT(base))
	if !strings.HasPrefix(id, "jwt-identity sha256:") {
		t.Fatalf("identity of a JWT = %q", id)
	}
	same := map[string]string{
		"rotated: another exp":      makeJWT(with("exp", 200)),
		"rotated: another jti":      makeJWT(with("jti", "2")),
		"aud as a one-element list": makeJWT(with("aud", []string{"sts.amazonaws.com"})),
		"another signature":         strings.TrimSuffix(makeJWT(base), "c2ln") + "b3RoZXI",
	}
	for name, tok := range same {
		if got := Of(tok); got != id {
			t.Errorf("%s: identity %q, want %q", name, got, id)
		}
	}
	other := map[string]string{
		"another subject":  makeJWT(with("sub", "job-b")),
		"another issuer":   makeJWT(with("iss", "https://other")),
		"another audience": makeJWT(with("aud", "api")),
		"more audiences":   makeJWT(with("aud", []string{"sts.amazonaws.com", "api"})),
		"session tags":     makeJWT(with("https://aws.amazon.com/tags", map[string]any{"principal_tags": map[string]any{"team": []string{"a"}}})),
		"amr":              makeJWT(with("amr", []string{"authenticated"})),
	}
	seen := map[string]string{id: "base"}
	for name, tok := range other {
		got := Of(tok)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: same identity as %s", name, prev)
		}
		seen[got] = name
	}
	// Not a JWT with iss and sub: the value itself.
	for name, tok := range map[string]string{
		"opaque":     "opaque-access-token",
		"no subject": makeJWT(with("sub", nil)),
		"bad base64": "a.!!!.c",
	} {
		got := Of(tok)
		if !strings.HasPrefix(got, "token sha256:") || got == Of(tok+"x") {
			t.Errorf("%s: identity %q, want a hash of the value", name, got)
		}
	}
}

func TestFind(t *testing.T) {
	tok := makeJWT(map[string]any{"iss": "https://idp", "sub": "x"})
	if got := Find("file://" + tok); len(got) != 1 || got[0] != tok {
		t.Errorf("Find(file://<JWT>) = %q, want the JWT", got)
	}
	tokens := []string{
		makeJWT(map[string]any{"iss": "https://idp", "sub": "x"}),
		"Bearer " + makeJWT(map[string]any{"sub": "x"}),
		strings.Repeat("A1b2_", 20), // an opaque access token
	}
	for _, s := range tokens {
		if len(Find(s)) == 0 {
			t.Errorf("Find(%.20q...) found nothing", s)
		}
	}
	names := []string{
		"", "us-east-1", "arn:aws:iam::123456789012:role/ci", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
		"system:serviceaccount:ci:deployer", strings.Repeat("n", 64), "https://idp.example.com/realms/dev",
		"/" + strings.Repeat("long/path", 20),
	}
	for _, s := range names {
		if got := Find(s); len(got) > 0 {
			t.Errorf("Find(%q) = %q", s, got)
		}
	}
}
