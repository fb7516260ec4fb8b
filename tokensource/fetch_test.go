package tokensource_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

// requestSecret is the secret an HTTP source sends with its request (the
// GitHub request token, Azure's IDENTITY_HEADER).
const requestSecret = "request-secret-b7f3c1d9e2a84f60"

// httpProvider is one fake token endpoint kind, following its provider's
// documented protocol, and the source pointed at it.
type httpProvider struct {
	name string // the Source of the source's errors
	// setup points a source at srv and returns it.
	setup func(t *testing.T, srv *httptest.Server, optFns ...func(*tokensource.HTTPOptions)) tokensource.Source
	// answer writes a successful answer holding tok.
	answer func(w http.ResponseWriter, tok string)
	// malformed is a 200 body the source must refuse as ErrMalformed.
	malformed string
	// secrets are the values of the request that no error may show.
	secrets []string
}

func jsonAnswer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

var httpProviders = []httpProvider{
	{
		name: "github-actions",
		setup: func(t *testing.T, srv *httptest.Server, optFns ...func(*tokensource.HTTPOptions)) tokensource.Source {
			clearSourceEnv(t)
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", srv.URL+"/_apis/idtoken?api-version=2.0")
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", requestSecret)
			return tokensource.GitHubActions("", append([]func(*tokensource.HTTPOptions){withClient(srv.Client())}, optFns...)...)
		},
		answer:    func(w http.ResponseWriter, tok string) { jsonAnswer(w, map[string]any{"count": 1, "value": tok}) },
		malformed: `{"value": 42`,
		secrets:   []string{requestSecret},
	},
	{
		name: "gcp",
		setup: func(t *testing.T, srv *httptest.Server, optFns ...func(*tokensource.HTTPOptions)) tokensource.Source {
			clearSourceEnv(t)
			t.Setenv("GCE_METADATA_HOST", srv.Listener.Addr().String())
			return tokensource.GCP("", optFns...)
		},
		answer: func(w http.ResponseWriter, tok string) {
			w.Header().Set("Metadata-Flavor", "Google")
			_, _ = w.Write([]byte(tok))
		},
		malformed: "<html>\n<body>captive portal</body></html>",
	},
	{
		name: "azure",
		setup: func(t *testing.T, srv *httptest.Server, optFns ...func(*tokensource.HTTPOptions)) tokensource.Source {
			clearSourceEnv(t)
			return tokensource.Azure("", append([]func(*tokensource.HTTPOptions){withClient(linkLocalClient(srv))}, optFns...)...)
		},
		answer:    azureAnswer,
		malformed: `{"access_token": ["not", "a", "string"]}`,
	},
	{
		name: "azure", // App Service
		setup: func(t *testing.T, srv *httptest.Server, optFns ...func(*tokensource.HTTPOptions)) tokensource.Source {
			clearSourceEnv(t)
			t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
			t.Setenv("IDENTITY_HEADER", requestSecret)
			return tokensource.Azure("", append([]func(*tokensource.HTTPOptions){withClient(srv.Client())}, optFns...)...)
		},
		answer:    azureAnswer,
		malformed: `<!DOCTYPE html>`,
		secrets:   []string{requestSecret},
	},
}

func azureAnswer(w http.ResponseWriter, tok string) {
	jsonAnswer(w, map[string]any{
		"access_token": tok, "expires_on": fmt.Sprint(farFuture.Unix()), "resource": "api://AzureADTokenExchange", "token_type": "Bearer",
	})
}

// providerLabel tells the two Azure endpoints apart in test names.
func providerLabel(i int, p httpProvider) string {
	if i == 3 {
		return "azure-app-service"
	}
	return p.name
}

// TestHTTPSourceFaults runs every HTTP source against its fake endpoint
// through each fault: the answer, or the error's type, cause and
// classification.
func TestHTTPSourceFaults(t *testing.T) {
	good := jwtExp(farFuture)
	type check func(t *testing.T, tok tokensource.Token, err error)
	wantStatus := func(code int, retryable bool, after time.Duration) check {
		return func(t *testing.T, _ tokensource.Token, err error) {
			var se *tokensource.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StatusError", err)
			}
			if se.StatusCode != code || se.Retryable() != retryable || se.RetryAfter != after {
				t.Errorf("StatusError = %d retryable %v after %s, want %d %v %s", se.StatusCode, se.Retryable(), se.RetryAfter, code, retryable, after)
			}
		}
	}
	wantIs := func(target error, text string) check {
		return func(t *testing.T, _ tokensource.Token, err error) {
			if !errors.Is(err, target) || !strings.Contains(err.Error(), text) {
				t.Errorf("err = %v, want one matching %v and saying %q", err, target, text)
			}
		}
	}
	cases := []struct {
		name    string
		handler func(p httpProvider, cancel context.CancelFunc) http.HandlerFunc
		down    bool
		timeout time.Duration
		check   check
		// retryable: the error's cause reports Retryable() true.
		retryable bool
	}{
		{
			name: "ok",
			handler: func(p httpProvider, _ context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { p.answer(w, good) }
			},
			check: func(t *testing.T, tok tokensource.Token, err error) {
				if err != nil || tok.Value != good || !tok.Expiry.Equal(farFuture) {
					t.Errorf("Token = %v, %v; want the answered token, expiring %s", tok, err, farFuture)
				}
			},
		},
		{
			name: "down", down: true, retryable: true,
			handler: func(httpProvider, context.CancelFunc) http.HandlerFunc {
				return func(http.ResponseWriter, *http.Request) {}
			},
			check: func(t *testing.T, _ tokensource.Token, err error) {
				var se *tokensource.StatusError
				if err == nil || errors.As(err, &se) {
					t.Errorf("err = %v, want a transport error", err)
				}
			},
		},
		{
			name: "slow beyond the request timeout", timeout: 20 * time.Millisecond, retryable: true,
			handler: func(httpProvider, context.CancelFunc) http.HandlerFunc {
				return func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
			},
			check: wantIs(context.DeadlineExceeded, "no answer within 20ms"),
		},
		{
			name: "caller's ctx ends while waiting",
			handler: func(_ httpProvider, cancel context.CancelFunc) http.HandlerFunc {
				return func(_ http.ResponseWriter, r *http.Request) { cancel(); <-r.Context().Done() }
			},
			check: wantIs(context.Canceled, "context canceled"),
		},
		{
			name: "503", retryable: true,
			handler: func(httpProvider, context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					http.Error(w, "upstream down", http.StatusServiceUnavailable)
				}
			},
			check: wantStatus(503, true, 0),
		},
		{
			name: "429 with Retry-After seconds", retryable: true,
			handler: func(httpProvider, context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Retry-After", "7")
					http.Error(w, `{"error":"throttled"}`, http.StatusTooManyRequests)
				}
			},
			check: wantStatus(429, true, 7*time.Second),
		},
		{
			name: "429 with a Retry-After date", retryable: true,
			handler: func(httpProvider, context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Date", "Wed, 21 Oct 2015 07:28:00 GMT")
					w.Header().Set("Retry-After", "Wed, 21 Oct 2015 07:29:30 GMT")
					w.WriteHeader(http.StatusTooManyRequests)
				}
			},
			check: wantStatus(429, true, 90*time.Second),
		},
		{
			name: "403",
			handler: func(httpProvider, context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "forbidden", http.StatusForbidden) }
			},
			check: wantStatus(403, false, 0),
		},
		{
			name: "malformed answer",
			handler: func(p httpProvider, _ context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(p.malformed)) }
			},
			check: wantIs(tokensource.ErrMalformed, "not a token"),
		},
		{
			name: "oversize answer",
			handler: func(httpProvider, context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(strings.Repeat("a", 64<<10+1))) }
			},
			check: wantIs(tokensource.ErrMalformed, "larger than 65536 bytes"),
		},
		{
			name: "expired token answered",
			handler: func(p httpProvider, _ context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					p.answer(w, jwtExp(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)))
				}
			},
			check: func(t *testing.T, _ tokensource.Token, err error) {
				if err == nil || !strings.Contains(err.Error(), "expired at 2001-02-03T04:05:06Z") {
					t.Errorf("err = %v, want the expired token refused", err)
				}
			},
		},
		{
			name: "empty token",
			handler: func(p httpProvider, _ context.CancelFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { p.answer(w, "") }
			},
			check: wantIs(tokensource.ErrEmpty, "token is empty"),
		},
	}
	for i, p := range httpProviders {
		for _, c := range cases {
			t.Run(providerLabel(i, p)+"/"+c.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				srv, _ := fakeServer(t, c.handler(p, cancel))
				var opts []func(*tokensource.HTTPOptions)
				if c.timeout > 0 {
					opts = append(opts, func(o *tokensource.HTTPOptions) { o.Timeout = c.timeout })
				}
				src := p.setup(t, srv, opts...)
				if c.down {
					srv.Close()
				}
				tok, err := src.Token(ctx)
				if err != nil {
					var te *tokensource.Error
					if !errors.As(err, &te) || te.Source != p.name {
						t.Fatalf("err = %#v, want a *tokensource.Error with Source %q", err, p.name)
					}
					if strings.Contains(te.Name, "?") {
						t.Errorf("Name = %q, want the URL without its query", te.Name)
					}
					var r interface{ Retryable() bool }
					if got := errors.As(err, &r) && r.Retryable(); got != c.retryable {
						t.Errorf("err = %v: retryable %v, want %v", err, got, c.retryable)
					}
				}
				c.check(t, tok, err)
			})
		}
	}
}

// TestHTTPSourceSecretsNeverInErrors has each fake endpoint echo what the
// request carried (the bearer token, the identity header) and tokens of its
// own in an error answer, in a malformed 200 answer and in a redirect's
// target: no error shows any of them, whatever the verb.
func TestHTTPSourceSecretsNeverInErrors(t *testing.T) {
	bodyJWT := jwtExp(farFuture)
	opaque := "opaque-access-token-" + strings.Repeat("x", 90)
	echo := func(r *http.Request) string {
		return fmt.Sprintf(`{"error":"invalid_request","error_description":"you sent %q and %q","access_token":%q,"value":%q,"raw":%q}`,
			r.Header.Get("Authorization"), r.Header.Get("X-Identity-Header"), opaque, bodyJWT, r.URL.String())
	}
	handlers := map[string]http.HandlerFunc{
		"500 echo": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(echo(r)))
		},
		"200 malformed echo": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>" + echo(r)))
		},
		"redirect to a host named by the secret": func(w http.ResponseWriter, r *http.Request) {
			secret := strings.TrimPrefix(r.Header.Get("Authorization"), "bearer ") + r.Header.Get("X-Identity-Header")
			http.Redirect(w, r, "http://"+secret+"elsewhere.example/steal?t="+secret, http.StatusFound) //nolint:gosec // G710: the open redirect is the attack under test
		},
	}
	for i, p := range httpProviders {
		for name, h := range handlers {
			t.Run(providerLabel(i, p)+"/"+name, func(t *testing.T) {
				srv, _ := fakeServer(t, h)
				_, err := p.setup(t, srv).Token(context.Background())
				assertNoLeak(t, err, requestSecret, bodyJWT, opaque)
				if strings.HasPrefix(name, "500") && !strings.Contains(err.Error(), "invalid_request") {
					t.Errorf("err = %v, want the scrubbed error answer quoted", err)
				}
			})
		}
	}
}

// TestStdlibForwardsCustomHeadersOnRedirect shows why the HTTP sources
// refuse cross-host redirects: Go's client drops Authorization on a redirect
// to another host, but forwards every other header, X-IDENTITY-HEADER
// included, and Authorization itself to another port of the same host.
func TestStdlibForwardsCustomHeadersOnRedirect(t *testing.T) {
	thief, got := fakeServer(t, func(http.ResponseWriter, *http.Request) {})
	other := strings.Replace(thief.URL, "127.0.0.1", "localhost", 1)
	for _, target := range []string{thief.URL, other} {
		origin, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target+"/x", http.StatusFound) })
		req, _ := http.NewRequest(http.MethodGet, origin.URL, nil)
		req.Header.Set("X-Identity-Header", requestSecret)
		req.Header.Set("Authorization", "bearer "+requestSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got.last(t).Header.Get("X-Identity-Header") != requestSecret {
			t.Errorf("redirect to %s: X-Identity-Header not forwarded; the premise of the redirect policy changed", target)
		}
	}
	if got.reqs[0].Header.Get("Authorization") == "" {
		t.Error("same host, other port: Authorization dropped; the premise changed")
	}
}

// TestHTTPSourceRedirects: a redirect within the same server is followed;
// one to another port or host is refused before any request reaches it.
func TestHTTPSourceRedirects(t *testing.T) {
	good := jwtExp(farFuture)
	for i, p := range httpProviders {
		t.Run(providerLabel(i, p)+"/same host", func(t *testing.T) {
			srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/moved" {
					http.Redirect(w, r, "/moved?"+r.URL.RawQuery, http.StatusTemporaryRedirect) //nolint:gosec // G710: a same-server redirect under test
					return
				}
				p.answer(w, good)
			})
			tok, err := p.setup(t, srv).Token(context.Background())
			if err != nil || tok.Value != good || rec.count() != 2 {
				t.Errorf("Token = %v, %v after %d requests; want the token after 2", tok, err, rec.count())
			}
		})
		t.Run(providerLabel(i, p)+"/other host", func(t *testing.T) {
			thief, stolen := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { p.answer(w, good) })
			srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, thief.URL+"/steal", http.StatusFound)
			})
			_, err := p.setup(t, srv).Token(context.Background())
			if err == nil || !strings.Contains(err.Error(), "refused a redirect to another host") {
				t.Errorf("err = %v, want the redirect refused", err)
			}
			if stolen.count() != 0 {
				t.Errorf("the other host received %d requests", stolen.count())
			}
		})
	}
}

// TestHTTPSourceFetchesEveryCall: each Token call is one request and
// returns that request's token; nothing is cached.
func TestHTTPSourceFetchesEveryCall(t *testing.T) {
	for i, p := range httpProviders {
		t.Run(providerLabel(i, p), func(t *testing.T) {
			var n atomic.Int32
			srv, rec := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				p.answer(w, makeJWT(fmt.Sprintf(`{"n":%d,"exp":%d}`, n.Add(1), farFuture.Unix())))
			})
			src := p.setup(t, srv)
			a, errA := src.Token(context.Background())
			b, errB := src.Token(context.Background())
			if errA != nil || errB != nil || a.Value == b.Value || rec.count() != 2 {
				t.Errorf("two calls: %v %v, %v %v after %d requests; want two requests, two tokens", a, errA, b, errB, rec.count())
			}
		})
	}
}
