package deviceflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
)

// The secrets of the echo tests. The refresh token and the device code
// hold '+', '/' and '=', which a URL percent-encodes, as base64 tokens do.
//
//nolint:gosec // G101: test values planted to be found, not credentials
const (
	echoRefreshToken = "rt-Zm9v+YmFy/YmF6=-refresh-token-of-the-echo-test"
	echoAccessToken  = "at-opaque-access-token-of-the-echo-test"
	echoClientSecret = "cs-client-secret-of-the-echo-test"
	echoDeviceCode   = "dc-Zm9v+YmFy/YmF6=-device-code-of-the-echo-test"
)

// echoIdP is an identity provider whose endpoints answer with what the test
// scripts, typically an echo of the secrets they were sent. Each handler is
// called with the parsed form and the client secret of HTTP Basic, if any.
type echoIdP struct {
	srv *httptest.Server

	mu        sync.Mutex // guards the fields below
	discovery func(w http.ResponseWriter, doc map[string]any)
	device    func(w http.ResponseWriter, form url.Values)
	token     func(w http.ResponseWriter, form url.Values)
	revoke    func(w http.ResponseWriter, form url.Values)
}

func newEchoIdP(t *testing.T) *echoIdP {
	idp := &echoIdP{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		doc := map[string]any{
			"issuer":                                idp.srv.URL,
			"device_authorization_endpoint":         idp.srv.URL + "/device",
			"token_endpoint":                        idp.srv.URL + "/token",
			"revocation_endpoint":                   idp.srv.URL + "/revoke",
			"jwks_uri":                              idp.srv.URL + "/jwks",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		}
		idp.mu.Lock()
		h := idp.discovery
		idp.mu.Unlock()
		if h != nil {
			h(w, doc)
			return
		}
		writeTestJSON(w, http.StatusOK, doc)
	})
	for path, h := range map[string]*func(http.ResponseWriter, url.Values){"/device": &idp.device, "/token": &idp.token, "/revoke": &idp.revoke} {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			form := r.PostForm
			if _, pw, ok := r.BasicAuth(); ok {
				if s, err := url.QueryUnescape(pw); err == nil {
					form.Set("basic_secret", s)
				}
			}
			idp.mu.Lock()
			fn := *h
			idp.mu.Unlock()
			if fn == nil {
				writeTestJSON(w, http.StatusNotFound, map[string]string{"error": "not_scripted"})
				return
			}
			fn(w, form)
		})
	}
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *echoIdP) script(f func(*echoIdP)) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	f(idp)
}

// echo returns every secret the request carried, space-separated.
func echo(form url.Values) string {
	var parts []string
	for _, k := range []string{"refresh_token", "device_code", "client_secret", "basic_secret", "token"} {
		if v := form.Get(k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// echoError answers an RFC 6749 §5.2 error response that quotes the
// request's secrets in error, error_description and error_uri.
func echoError(code string) func(http.ResponseWriter, url.Values) {
	return func(w http.ResponseWriter, form url.Values) {
		e := echo(form)
		if code == "" {
			code = "bad_request " + e
		}
		writeTestJSON(w, http.StatusBadRequest, map[string]string{
			"error":             code,
			"error_description": "you sent " + e + " and we hold " + echoAccessToken,
			"error_uri":         "https://idp.example/errors?" + url.Values{"echo": {e}}.Encode(),
		})
	}
}

// echoSource returns a Source on idp, non-interactive, with the client
// secret sent as a form parameter or with HTTP Basic, and tokens stored
// whose ID token has expired: the next Token refreshes.
func echoSource(t *testing.T, idp *echoIdP, clk clock.Clock, logger *slog.Logger, optFns ...func(*Options)) (*Source, *promptRecorder, *Tokens) {
	t.Helper()
	rec := newPromptRecorder()
	store := newMemStore()
	fns := append([]func(*Options){func(o *Options) {
		o.Store = store
		o.HTTPClient = idp.srv.Client()
		o.Prompt = rec
		o.ClientSecret = NewSecret(echoClientSecret)
		o.AuthStyle = oauth2.AuthStyleInParams
		o.Logger = logger
	}}, optFns...)
	src, err := New(idp.srv.URL, testClientID, fns...)
	if err != nil {
		t.Fatal(err)
	}
	src.clk = clk
	stored := &Tokens{
		Issuer: idp.srv.URL, ClientID: testClientID,
		IDToken: idToken(idp.srv.URL, "user-1", t0.Add(-time.Minute)), IDTokenExpiry: t0.Add(-time.Minute),
		AccessToken: echoAccessToken, RefreshToken: echoRefreshToken, Obtained: t0.Add(-time.Hour),
	}
	if err := store.Save(context.Background(), src.key, stored); err != nil {
		t.Fatal(err)
	}
	return src, rec, stored
}

// logBuffers is a debug-level logger that writes JSON and text, each to a
// buffer of its own.
type logBuffers struct {
	json, text bytes.Buffer
	logger     *slog.Logger
}

func newLogBuffers() *logBuffers {
	l := &logBuffers{}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	l.logger = slog.New(slog.NewMultiHandler(slog.NewJSONHandler(&l.json, opts), slog.NewTextHandler(&l.text, opts)))
	return l
}

// assertScrubbed fails when err, however it is printed or unwrapped, or
// the logs (after err is logged too), hold a secret.
func assertScrubbed(t *testing.T, err error, logs *logBuffers, secrets ...string) {
	t.Helper()
	logs.logger.Error("the caller logs the error", "err", err, "any", slog.AnyValue(err))
	outs := map[string]string{"JSON log": logs.json.String(), "text log": logs.text.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		outs["Sprintf "+verb] = fmt.Sprintf(verb, err)
	}
	for i, e := 0, err; e != nil; i, e = i+1, errors.Unwrap(e) {
		outs[fmt.Sprintf("error %d of the chain (%T)", i, e)] = e.Error() + fmt.Sprintf(" %v %+v %#v", e, e, e)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		outs["RetrieveError"] = fmt.Sprintf("%s %q %q %q %q", re.Body, re.ErrorCode, re.ErrorDescription, re.ErrorURI, re.Response.Status)
	}
	redacted := false
	for where, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) || strings.Contains(out, url.QueryEscape(s)) {
				t.Errorf("%s holds the secret %.12q…:\n%s", where, s, out)
			}
		}
		redacted = redacted || strings.Contains(out, "[REDACTED]")
	}
	if !redacted {
		t.Errorf("err = %v; the echoed secrets should show as [REDACTED] somewhere", err)
	}
}

// TestRemoteErrorsScrubbed has the identity provider echo the secrets of
// the Source (refresh, access and ID tokens, client secret, device code)
// in every field of its answers, and checks that no error, log line or
// prompt of the Source shows them.
func TestRemoteErrorsScrubbed(t *testing.T) {
	tests := []struct {
		name   string
		script func(*echoIdP)
		opt    func(*Options)
		// run makes the Source fail and returns its error.
		run  func(t *testing.T, src *Source, rec *promptRecorder, clk *clock.Fake) error
		want func(error) bool
	}{
		{
			name: "refresh: invalid_grant echoing the refresh token and client secret",
			script: func(idp *echoIdP) {
				idp.token = echoError("invalid_grant")
			},
			want: func(err error) bool { return errors.Is(err, ErrLoginRequired) },
		},
		{
			name: "refresh: the error code echoes them",
			script: func(idp *echoIdP) {
				idp.token = echoError("")
			},
			want: func(err error) bool { var te *TokenError; return errors.As(err, &te) && te.StatusCode == 400 },
		},
		{
			name: "refresh: a secret split by a control character",
			script: func(idp *echoIdP) {
				idp.token = func(w http.ResponseWriter, form url.Values) {
					rt := form.Get("refresh_token")
					writeTestJSON(w, http.StatusBadRequest, map[string]string{
						"error":             "invalid_request",
						"error_description": "token " + rt[:10] + "\x1b" + rt[10:] + " refused",
					})
				}
			},
			want: func(err error) bool { var te *TokenError; return errors.As(err, &te) },
		},
		{
			name: "refresh: a plain-text body",
			script: func(idp *echoIdP) {
				idp.token = func(w http.ResponseWriter, form url.Values) {
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(http.StatusBadGateway)
					_, _ = fmt.Fprintf(w, "upstream rejected %s\n", echo(form))
				}
			},
			want: func(err error) bool { var te *TokenError; return errors.As(err, &te) && te.StatusCode == 502 },
		},
		{
			name: "refresh: the status line",
			script: func(idp *echoIdP) {
				idp.token = func(w http.ResponseWriter, form url.Values) {
					conn, buf, err := w.(http.Hijacker).Hijack()
					if err != nil {
						return
					}
					defer conn.Close()
					body := "{}"
					_, _ = fmt.Fprintf(buf, "HTTP/1.1 400 Bad %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
						form.Get("refresh_token"), len(body), body)
					_ = buf.Flush()
				}
			},
			want: func(err error) bool { var te *TokenError; return errors.As(err, &te) && te.StatusCode == 400 },
		},
		{
			name: "refresh: a transport error quoting a URL with the token",
			script: func(idp *echoIdP) {
				dead := deadURL(idp)
				idp.discovery = func(w http.ResponseWriter, doc map[string]any) {
					doc["token_endpoint"] = dead + "/token?" + url.Values{"rt": {echoRefreshToken}, "cs": {echoClientSecret}}.Encode()
					writeTestJSON(w, http.StatusOK, doc)
				}
			},
			want: func(err error) bool { var ue *url.Error; return errors.As(err, &ue) },
		},
		{
			name: "discovery: the body echoes the stored tokens",
			script: func(idp *echoIdP) {
				idp.discovery = func(w http.ResponseWriter, _ map[string]any) {
					http.Error(w, "no configuration for "+echoRefreshToken+" "+echoAccessToken, http.StatusInternalServerError)
				}
			},
			want: func(err error) bool { return strings.HasPrefix(fmt.Sprint(err), "deviceflow: discovery of ") },
		},
		{
			name: "device authorization: the error echoes the client secret",
			script: func(idp *echoIdP) {
				idp.device = echoError("invalid_client")
			},
			run: func(t *testing.T, src *Source, _ *promptRecorder, _ *clock.Fake) error {
				return src.Login(testCtx(t))
			},
			want: func(err error) bool {
				var te *TokenError
				return errors.As(err, &te) && te.Grant == "device_authorization"
			},
		},
		{
			name: "device authorization: HTTP Basic secret echoed in a plain-text body",
			script: func(idp *echoIdP) {
				idp.device = func(w http.ResponseWriter, form url.Values) {
					http.Error(w, "who is "+echo(form)+"?", http.StatusUnauthorized)
				}
			},
			opt: func(o *Options) { o.AuthStyle = oauth2.AuthStyleInHeader },
			run: func(t *testing.T, src *Source, _ *promptRecorder, _ *clock.Fake) error {
				return src.Login(testCtx(t))
			},
			want: func(err error) bool { var te *TokenError; return errors.As(err, &te) && te.StatusCode == 401 },
		},
		{
			name: "device code: access_denied echoing it",
			script: func(idp *echoIdP) {
				idp.device = deviceAuthorization
				idp.token = echoError("access_denied")
			},
			run:  login,
			want: func(err error) bool { return errors.Is(err, ErrAccessDenied) },
		},
		{
			name: "device code: an unknown error code echoing it",
			script: func(idp *echoIdP) {
				idp.device = deviceAuthorization
				idp.token = echoError("")
			},
			run:  login,
			want: func(err error) bool { var te *TokenError; return errors.As(err, &te) && te.Grant == "device_code" },
		},
		{
			name: "device code: outages echoing it until it expires",
			script: func(idp *echoIdP) {
				idp.device = deviceAuthorization
				idp.token = func(w http.ResponseWriter, form url.Values) {
					conn, buf, err := w.(http.Hijacker).Hijack()
					if err != nil {
						return
					}
					defer conn.Close()
					_, _ = fmt.Fprintf(buf, "HTTP/1.1 503 Busy %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", form.Get("device_code"))
					_ = buf.Flush()
				}
			},
			run: func(t *testing.T, src *Source, rec *promptRecorder, clk *clock.Fake) error {
				autoAdvance(t, clk)
				return login(t, src, rec, clk)
			},
			want: func(err error) bool { return errors.Is(err, ErrExpiredToken) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			idp := newEchoIdP(t)
			idp.script(tc.script)
			logs := newLogBuffers()
			opt := tc.opt
			if opt == nil {
				opt = func(*Options) {}
			}
			src, rec, stored := echoSource(t, idp, clk, logs.logger, opt)
			run := tc.run
			if run == nil {
				run = func(t *testing.T, src *Source, _ *promptRecorder, _ *clock.Fake) error {
					_, err := src.Token(testCtx(t))
					return err
				}
			}
			err := run(t, src, rec, clk)
			if err == nil || !tc.want(err) {
				t.Fatalf("err = %v (%T), not the error wanted", err, err)
			}
			t.Logf("err = %v", err)
			assertScrubbed(t, err, logs, echoRefreshToken, echoAccessToken, stored.IDToken, echoClientSecret, echoDeviceCode)
		})
	}
}

// TestRevocationErrorScrubbed has the revocation endpoint echo the refresh
// token it is asked to revoke: Logout succeeds and its warning does not
// show the token.
func TestRevocationErrorScrubbed(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newEchoIdP(t)
	idp.script(func(idp *echoIdP) { idp.revoke = echoError("") })
	logs := newLogBuffers()
	src, _, stored := echoSource(t, idp, clk, logs.logger)
	if err := src.Logout(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for where, out := range map[string]string{"JSON log": logs.json.String(), "text log": logs.text.String()} {
		if !strings.Contains(out, "cannot revoke") || !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s has no scrubbed revocation warning:\n%s", where, out)
		}
		for _, s := range []string{echoRefreshToken, url.QueryEscape(echoRefreshToken), echoAccessToken, stored.IDToken, echoClientSecret} {
			if strings.Contains(out, s) {
				t.Errorf("%s holds the secret %.12q…:\n%s", where, s, out)
			}
		}
	}
}

// TestPromptScrubbed has the device authorization response put the device
// code in verification_uri_complete: the prompt does not show it.
func TestPromptScrubbed(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newEchoIdP(t)
	idp.script(func(idp *echoIdP) {
		idp.device = func(w http.ResponseWriter, _ url.Values) {
			writeTestJSON(w, http.StatusOK, map[string]any{
				"device_code": echoDeviceCode, "user_code": "WDJB-MJHT", "expires_in": 600, "interval": 5,
				"verification_uri":          idp.srv.URL + "/activate",
				"verification_uri_complete": idp.srv.URL + "/activate?" + url.Values{"user_code": {"WDJB-MJHT"}, "device_code": {echoDeviceCode}}.Encode(),
			})
		}
		idp.token = echoError("access_denied")
	})
	logs := newLogBuffers()
	src, rec, _ := echoSource(t, idp, clk, logs.logger)
	res := make(chan error, 1)
	go func() { res <- src.Login(testCtx(t)) }()
	p := rec.next(t)
	if err := <-res; !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("Login = %v, want ErrAccessDenied", err)
	}
	out := fmt.Sprintf("%+v", p) + logs.json.String() + logs.text.String()
	if strings.Contains(out, echoDeviceCode) || strings.Contains(out, url.QueryEscape(echoDeviceCode)) {
		t.Errorf("the prompt or the log shows the device code:\n%s", out)
	}
	if p.UserCode != "WDJB-MJHT" || !strings.HasPrefix(p.VerificationURIComplete, idp.srv.URL+"/activate?") {
		t.Errorf("prompt = %+v", p)
	}
}

// deviceAuthorization answers a device authorization request with
// echoDeviceCode.
func deviceAuthorization(w http.ResponseWriter, _ url.Values) {
	writeTestJSON(w, http.StatusOK, map[string]any{
		"device_code": echoDeviceCode, "user_code": "WDJB-MJHT", "expires_in": 60, "interval": 5,
		"verification_uri": "http://127.0.0.1/activate",
	})
}

// login runs a forced login and returns its error.
func login(t *testing.T, src *Source, rec *promptRecorder, _ *clock.Fake) error {
	res := make(chan error, 1)
	go func() { res <- src.Login(testCtx(t)) }()
	rec.next(t)
	return <-res
}

// deadURL returns the http URL of a loopback port that refuses
// connections.
func deadURL(idp *echoIdP) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return idp.srv.URL + "/absent" // still a failure, though not a transport one
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}
