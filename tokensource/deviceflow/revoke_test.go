package deviceflow

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/ststest"
)

// refreshAt presents refreshToken to ststest's token endpoint directly, as
// a client that kept a copy would, and returns the RFC 6749 §5.2 error
// code, or "" when the refresh succeeded.
func (e *e2e) refreshAt(t *testing.T, client ststest.Client, refreshToken string) string {
	t.Helper()
	cfg := &oauth2.Config{
		ClientID:     e2eClient,
		ClientSecret: client.Secret,
		Endpoint:     oauth2.Endpoint{TokenURL: e.srv.Issuer() + "/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	ctx := context.WithValue(testCtx(t), oauth2.HTTPClient, e.srv.HTTPClient())
	_, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err == nil {
		return ""
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("refresh: %v", err)
	}
	return re.ErrorCode
}

// loggedIn logs in through src and returns the stored tokens.
func (e *e2e) loggedIn(t *testing.T, src *Source, rec *promptRecorder) *Tokens {
	t.Helper()
	if r := e.login(t, src, rec, "alice"); r.err != nil {
		t.Fatal(r.err)
	}
	stored, ok, err := src.store.Load(testCtx(t), src.key)
	if err != nil || !ok || stored.RefreshToken == "" {
		t.Fatalf("stored tokens: ok=%t err=%v", ok, err)
	}
	return stored
}

func assertNoSecrets(t *testing.T, logs string, tok *Tokens) {
	t.Helper()
	for name, v := range map[string]string{"refresh token": tok.RefreshToken, "ID token": tok.IDToken, "access token": tok.AccessToken} {
		if v != "" && strings.Contains(logs, v) {
			t.Errorf("the log holds the %s:\n%s", name, logs)
		}
	}
}

func TestLogoutRevokesAtSTSTest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client ststest.Client
		style  oauth2.AuthStyle
	}{
		{name: "public client", client: ststest.Client{}},
		{name: "public rotating client", client: ststest.Client{RotateRefreshTokens: true}},
		{name: "confidential client, basic", client: ststest.Client{Secret: "s3cret-basic"}, style: oauth2.AuthStyleInHeader},
		{name: "confidential client, post", client: ststest.Client{Secret: "s3cret-post"}, style: oauth2.AuthStyleInParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, tc.client)
			var logs syncBuffer
			src, rec := e.source(t, func(o *Options) {
				o.ClientSecret = NewSecret(tc.client.Secret)
				o.AuthStyle = tc.style
				o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			old := e.loggedIn(t, src, rec)
			if !tc.client.RotateRefreshTokens { // a check would spend it
				if code := e.refreshAt(t, tc.client, old.RefreshToken); code != "" {
					t.Fatalf("refresh before Logout: %s", code)
				}
			}
			ctx := testCtx(t)
			if err := src.Logout(ctx); err != nil {
				t.Fatal(err)
			}
			if n := e.srv.Calls(ststest.ActionRevoke); n != 1 {
				t.Fatalf("revocation requests = %d, want 1", n)
			}
			if _, ok, _ := src.store.Load(ctx, src.key); ok {
				t.Fatal("tokens still stored after Logout")
			}
			if code := e.refreshAt(t, tc.client, old.RefreshToken); code != "invalid_grant" {
				t.Fatalf("refresh with the revoked token: error %q, want invalid_grant", code)
			}
			if strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("unexpected warning:\n%s", logs.String())
			}
			assertNoSecrets(t, logs.String(), old)
			if tc.client.Secret != "" && strings.Contains(logs.String(), tc.client.Secret) {
				t.Errorf("the log holds the client secret")
			}
		})
	}
}

func TestLogoutRevocationEndpointDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault ststest.Fault
	}{
		{name: "server_error", fault: ststest.Fault{Times: -1}},
		{name: "connection reset", fault: ststest.Fault{Times: -1, Reset: true}},
		{name: "invalid_client", fault: ststest.Fault{Times: -1, Code: "invalid_client", Status: http.StatusUnauthorized}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t, ststest.Client{})
			var logs syncBuffer
			src, rec := e.source(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			old := e.loggedIn(t, src, rec)
			e.srv.Fail(ststest.ActionRevoke, tc.fault)
			ctx := testCtx(t)
			if err := src.Logout(ctx); err != nil {
				t.Fatalf("Logout = %v, want nil: revocation is best effort", err)
			}
			if n := e.srv.Calls(ststest.ActionRevoke); n != 1 {
				t.Fatalf("revocation requests = %d, want 1", n)
			}
			if _, ok, _ := src.store.Load(ctx, src.key); ok {
				t.Fatal("tokens still stored after Logout")
			}
			if _, ok := src.fresh(); ok {
				t.Fatal("a token is still held in memory after Logout")
			}
			out := logs.String()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "cannot revoke") || !strings.Contains(out, "refresh_token=") {
				t.Errorf("no revocation warning with the token's fingerprint:\n%s", out)
			}
			assertNoSecrets(t, out, old)
			e.srv.ClearFaults(ststest.ActionRevoke)
			if code := e.refreshAt(t, ststest.Client{}, old.RefreshToken); code != "" {
				t.Errorf("the refresh token should still be valid at the provider, got %q", code)
			}
		})
	}
}

func TestLogoutWithoutRevocationEndpoint(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	var logs syncBuffer
	src, rec, store := newTestSource(t, idp, clk, func(o *Options) {
		o.Interactive = false
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- src.Login(ctx) }()
	p := rec.next(t)
	waitTimer(t, clk)
	idp.approve(p.UserCode)
	fire(t, clk)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := store.Load(ctx, src.key); ok {
		t.Fatal("tokens still stored after Logout")
	}
	out := logs.String()
	if strings.Contains(out, "level=WARN") || !strings.Contains(out, "no revocation_endpoint") {
		t.Errorf("log:\n%s", out)
	}
}

func TestLogoutInsecureRevocationEndpoint(t *testing.T) {
	var revoked int
	var mu sync.Mutex
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeTestJSON(w, http.StatusOK, map[string]any{
			"issuer":                        srv.URL,
			"device_authorization_endpoint": srv.URL + "/device",
			"token_endpoint":                srv.URL + "/token",
			"jwks_uri":                      srv.URL + "/keys",
			"revocation_endpoint":           "http://idp.example.com/revoke",
		})
	})
	mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) { mu.Lock(); revoked++; mu.Unlock() })
	store := newMemStore()
	var logs syncBuffer
	src, err := New(srv.URL, "cli", func(o *Options) {
		o.Store = store
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	tok := &Tokens{Issuer: srv.URL, ClientID: "cli", RefreshToken: "rt-secret-value", IDToken: "idt-secret-value"}
	if err := store.Save(ctx, src.key, tok); err != nil {
		t.Fatal(err)
	}
	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := store.Load(ctx, src.key); ok {
		t.Fatal("tokens still stored after Logout")
	}
	mu.Lock()
	defer mu.Unlock()
	if revoked != 0 {
		t.Errorf("%d requests outside discovery", revoked)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "revocation_endpoint") {
		t.Errorf("no warning about the insecure endpoint:\n%s", out)
	}
	assertNoSecrets(t, out, tok)
}
