package deviceflow

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
)

func TestNewValidation(t *testing.T) {
	mem := func(o *Options) { o.Store = newMemStore() }
	tests := []struct {
		name      string
		issuer    string
		clientID  string
		opt       func(*Options)
		wantField string // "" means valid
		wantText  string
	}{
		{"https", "https://idp.example.com/realms/x", "c", nil, "", ""},
		{"http loopback v4", "http://127.0.0.1:8080", "c", nil, "", ""},
		{"http loopback v4 range", "http://127.1.2.3", "c", nil, "", ""},
		{"http localhost", "http://localhost:9000/", "c", nil, "", ""},
		{"http loopback v6", "http://[::1]:8080", "c", nil, "", ""},
		{"http refused", "http://idp.example.com", "c", nil, "issuer", "https"},
		{"http private ip refused", "http://10.0.0.1", "c", nil, "issuer", "loopback"},
		{"http localhost lookalike", "http://localhost.evil.example", "c", nil, "issuer", "https"},
		{"empty issuer", "", "c", nil, "issuer", "empty"},
		{"relative issuer", "idp.example.com", "c", nil, "issuer", "absolute"},
		{"ftp issuer", "ftp://idp.example.com", "c", nil, "issuer", "https"},
		{"issuer with query", "https://idp.example.com?x=1", "c", nil, "issuer", "query"},
		{"issuer with user", "https://u:p@idp.example.com", "c", nil, "issuer", "user"},
		{"empty client", "https://idp.example.com", "", nil, "clientID", "empty"},
		{"blank client", "https://idp.example.com", "  ", nil, "clientID", "empty"},
		{"control client", "https://idp.example.com", "a\x1b[31m", nil, "clientID", "control"},
		{"bad scope", "https://idp.example.com", "c", func(o *Options) { o.Scopes = []string{"openid", "a b"} }, "Scopes", "scope-token"},
		{"no openid", "https://idp.example.com", "c", func(o *Options) { o.Scopes = []string{"profile"} }, "Scopes", "openid"},
		{"no openid with access token", "https://idp.example.com", "c", func(o *Options) { o.Scopes = []string{"api"}; o.UseAccessToken = true }, "", ""},
		{"negative margin", "https://idp.example.com", "c", func(o *Options) { o.ExpiryMargin = -time.Second }, "ExpiryMargin", "negative"},
		{"bad auth style", "https://idp.example.com", "c", func(o *Options) { o.AuthStyle = 7 }, "AuthStyle", "AuthStyleInParams"},
		{"auth param client_id", "https://idp.example.com", "c", func(o *Options) { o.AuthParams = url.Values{"client_id": {"x"}} }, "AuthParams", "client_id"},
		{"auth param with two values", "https://idp.example.com", "c", func(o *Options) { o.AuthParams = url.Values{"audience": {"a", "b"}} }, "AuthParams", `"audience": has 2 values`},
		{"auth param with no value", "https://idp.example.com", "c", func(o *Options) { o.AuthParams = url.Values{"audience": {}} }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fns := []func(*Options){mem}
			if tt.opt != nil {
				fns = append(fns, tt.opt)
			}
			src, err := New(tt.issuer, tt.clientID, fns...)
			if tt.wantField == "" {
				if err != nil || src == nil {
					t.Fatalf("New() = %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.wantField {
				t.Fatalf("New() = %v, want a ValidationError on %s", err, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantField) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("message %q should name %s and say %q", err, tt.wantField, tt.wantText)
			}
		})
	}
}

func TestOptionDefaults(t *testing.T) {
	src, err := New("https://idp.example.com", "c", func(o *Options) { o.Store = newMemStore() })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(src.scopes, " "); got != "openid offline_access" {
		t.Errorf("scopes = %q", got)
	}
	if src.margin != defaultExpiryMargin || src.interactive || src.useAccessToken {
		t.Errorf("defaults: %+v", src)
	}
	if src.authStyle != oauth2.AuthStyleInParams {
		t.Errorf("public client auth style = %v", src.authStyle)
	}
	if _, ok := src.prompt.(textPrompter); !ok {
		t.Errorf("prompt = %T", src.prompt)
	}
	if gt, ok := src.http.Transport.(*guardTransport); !ok || gt.timeout != defaultHTTPTimeout || src.http.Timeout != 0 {
		t.Errorf("http timeout: transport %v, client %v; want %v in the transport", src.http.Transport, src.http.Timeout, defaultHTTPTimeout)
	}
	conf, err := New("https://idp.example.com", "c", func(o *Options) { o.Store = newMemStore(); o.ClientSecret = NewSecret("s") })
	if err != nil || conf.authStyle != oauth2.AuthStyleInHeader {
		t.Errorf("confidential client auth style = %v, %v", conf.authStyle, err)
	}
}

// TestDefaultFileStore checks the default store's place, and that New
// creates no directory.
func TestDefaultFileStore(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	src, err := New("https://idp.example.com", "c")
	if err != nil {
		t.Fatal(err)
	}
	fs, ok := src.store.(*FileStore)
	dir, _ := defaultStoreDir()
	if !ok || fs.dir != dir || !strings.HasSuffix(dir, "/awsoidc/tokens") {
		t.Fatalf("store = %T %v", src.store, src.store)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New created %s: %v", filepath.Dir(dir), err)
	}
}

func TestUsable(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name     string
		value    string
		expiry   time.Time
		obtained time.Time
		now      time.Time
		margin   time.Duration
		want     bool
	}{
		{"valid", "v", exp, t0, t0, time.Minute, true},
		{"empty", "", exp, t0, t0, time.Minute, false},
		{"inside margin", "v", exp, t0, exp.Add(-30 * time.Second), time.Minute, false},
		{"at margin", "v", exp, t0, exp.Add(-time.Minute), time.Minute, false},
		{"just before margin", "v", exp, t0, exp.Add(-time.Minute - time.Nanosecond), time.Minute, true},
		{"expired", "v", exp, t0, exp.Add(time.Second), time.Minute, false},
		{"short token clamps margin", "v", t0.Add(time.Minute), t0, t0.Add(20 * time.Second), time.Minute, true},
		{"short token past half", "v", t0.Add(time.Minute), t0, t0.Add(30 * time.Second), time.Minute, false},
		{"unknown expiry fresh", "v", time.Time{}, t0, t0.Add(time.Minute), time.Minute, true},
		{"unknown expiry old", "v", time.Time{}, t0, t0.Add(unknownLifetime), time.Minute, false},
		{"unknown expiry and obtained", "v", time.Time{}, time.Time{}, t0, time.Minute, false},
		{"no obtained", "v", exp, time.Time{}, t0, time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usable(tt.value, tt.expiry, tt.obtained, tt.now, tt.margin); got != tt.want {
				t.Errorf("usable() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestNothingLeaks prints every type that holds or reports tokens with
// every verb, and logs them, and looks for the secrets.
func TestNothingLeaks(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	secret := "client-secret-value"
	src, _, store := newTestSource(t, idp, clk, func(o *Options) {
		o.ClientSecret = NewSecret(secret)
		o.Logger = logger
		o.Interactive = false
	})
	seeded := seed(t, idp, store, t0.Add(-time.Minute), t0.Add(-time.Hour))
	tok, err := src.Token(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	cur, _, _ := store.Load(testCtx(t), src.key)
	secrets := []string{secret, seeded.IDToken, seeded.RefreshToken, seeded.AccessToken, tok.Value, cur.RefreshToken, cur.AccessToken}

	opts := Options{ClientSecret: NewSecret(secret)}
	tokErr := &TokenError{Grant: "refresh_token", ErrorCode: "invalid_grant", Err: &oauth2.RetrieveError{Body: []byte(seeded.RefreshToken)}}
	values := []any{src, opts, &opts, opts.ClientSecret, cur, *cur, tokErr, src.loginRequired("the refresh token was rejected", tokErr)}
	var outs []string
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		logger.Info("value", "v", v)
	}
	holder := struct{ T *Tokens }{cur}
	outs = append(outs, fmt.Sprintf("%+v", holder), fmt.Sprintf("%#v", holder), logs.String())
	for _, o := range outs {
		for _, s := range secrets {
			if s != "" && strings.Contains(o, s) {
				t.Fatalf("secret leaked in %q", o)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(src), idp.issuer()) {
		t.Errorf("Source prints %q", fmt.Sprint(src))
	}
}

func TestSanitize(t *testing.T) {
	if got := sanitize("a\x1b[31mb\u202ec\n", 100); got != "a[31mbc" {
		t.Errorf("sanitize() = %q", got)
	}
	if got := sanitize("abcdef", 3); got != "abc…" {
		t.Errorf("sanitize() = %q", got)
	}
}
