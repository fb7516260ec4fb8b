package deviceflow

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

func TestStoreKey(t *testing.T) {
	const iss, client = "https://idp.example.com", "cli"
	plain := iss + " " + client
	key := func(fn func(*Options)) string { return StoreKey(iss, client, fn) }
	same := []struct {
		name string
		a, b string
	}{
		{"no options: issuer and client", StoreKey(iss, client), plain},
		{"the default scopes, given", key(func(o *Options) { o.Scopes = []string{"offline_access", "openid"} }), plain},
		{"other options do not count", key(func(o *Options) { o.Interactive = true; o.ClientSecret = NewSecret("s"); o.ExpiryMargin = time.Hour }), plain},
		{"an AuthParams parameter without a value is not sent", key(func(o *Options) { o.AuthParams = url.Values{"audience": nil} }), plain},
		{"scope order and duplicates", key(func(o *Options) { o.Scopes = []string{"profile", "openid", "profile"} }), key(func(o *Options) { o.Scopes = []string{"openid", "profile"} })},
		{"parameter order", key(func(o *Options) { o.AuthParams = url.Values{"b": {"2"}, "a": {"1"}} }), key(func(o *Options) { o.AuthParams = url.Values{"a": {"1"}, "b": {"2"}} })},
	}
	for _, tt := range same {
		if tt.a != tt.b {
			t.Errorf("%s: keys %q and %q differ", tt.name, tt.a, tt.b)
		}
	}
	distinct := map[string]string{
		"default":         plain,
		"another scope":   key(func(o *Options) { o.Scopes = []string{"openid", "offline_access", "profile"} }),
		"fewer scopes":    key(func(o *Options) { o.Scopes = []string{"openid"} }),
		"an audience":     key(func(o *Options) { o.AuthParams = url.Values{"audience": {"api-a"}} }),
		"other audience":  key(func(o *Options) { o.AuthParams = url.Values{"audience": {"api-b"}} }),
		"access token":    key(func(o *Options) { o.UseAccessToken = true }),
		"another client":  StoreKey(iss, "cli2"),
		"another issuer":  StoreKey(iss+"/other", client),
		"scope in params": key(func(o *Options) { o.AuthParams = url.Values{"x": {"scope=openid"}} }),
	}
	seen := map[string]string{}
	for name, k := range distinct {
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s share the key %q", name, other, k)
		}
		seen[k] = name
	}
}

// TestOtherScopesOtherLogin checks that a Source asking for other scopes,
// another audience or the access token is not served the tokens stored by a
// login that asked for less, in a shared store.
func TestOtherScopesOtherLogin(t *testing.T) {
	for name, opt := range map[string]func(*Options){
		"scope":        func(o *Options) { o.Scopes = []string{"openid", "offline_access", "admin"} },
		"audience":     func(o *Options) { o.AuthParams = url.Values{"audience": {"api"}} },
		"access token": func(o *Options) { o.UseAccessToken = true },
	} {
		t.Run(name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			idp := newFakeIdP(t, clk)
			plain, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
			seeded := seed(t, idp, store, t0.Add(time.Hour), t0)
			if tok, err := plain.Token(testCtx(t)); err != nil || tok.Value != seeded.IDToken {
				t.Fatalf("the login's own Source: %v, %v", tok, err)
			}
			other, _, _ := newTestSource(t, idp, clk, func(o *Options) { o.Store = store; o.Interactive = false }, opt)
			if tok, err := other.Token(testCtx(t)); !errors.Is(err, ErrLoginRequired) {
				t.Fatalf("a Source with another %s: Token() = %v, %v; want ErrLoginRequired", name, tok, err)
			}
		})
	}
}
