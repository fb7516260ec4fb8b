package deviceflow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/ststest"
)

// The tests in this file run the device flow end to end against ststest:
// its discovery, device authorization and token endpoints, and its STS,
// which validates the resulting tokens (signature, iss, aud, exp) in
// AssumeRoleWithWebIdentity through the real sts client.

const e2eClient = "awsoidc-cli"

type e2e struct {
	clk  *clock.Fake
	srv  *ststest.Server
	role string
}

func newE2E(t *testing.T, client ststest.Client, srvOpts ...func(*ststest.Options)) *e2e {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	srv := ststest.NewServer(append([]func(*ststest.Options){func(o *ststest.Options) { o.Now = clk.Now }}, srvOpts...)...)
	t.Cleanup(srv.Close)
	if client.ID == "" {
		client.ID = e2eClient
	}
	srv.AddClient(client)
	role := srv.AddRole(ststest.Role{Name: "developer", Audience: client.ID})
	return &e2e{clk: clk, srv: srv, role: role}
}

func (e *e2e) source(t *testing.T, optFns ...func(*Options)) (*Source, *promptRecorder) {
	t.Helper()
	rec := newPromptRecorder()
	fns := append([]func(*Options){func(o *Options) {
		o.Store = newMemStore()
		o.HTTPClient = e.srv.HTTPClient()
		o.Prompt = rec
		o.Interactive = true
	}}, optFns...)
	src, err := New(e.srv.Issuer(), e2eClient, fns...)
	if err != nil {
		t.Fatal(err)
	}
	src.clk = e.clk
	return src, rec
}

// assume trades tok for credentials at ststest's STS, with the real client.
func (e *e2e) assume(t *testing.T, tok string) *sts.AssumeRoleWithWebIdentityOutput {
	t.Helper()
	out, err := e.srv.STSClient(func(o *sts.Options) { o.Retryer = aws.NopRetryer{} }).AssumeRoleWithWebIdentity(testCtx(t), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(e.role),
		RoleSessionName:  aws.String("deviceflow-test"),
		WebIdentityToken: aws.String(tok),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	return out
}

// login runs a device login through Token, approving it as subject.
func (e *e2e) login(t *testing.T, src *Source, rec *promptRecorder, subject string) result {
	t.Helper()
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, e.clk)
	if err := e.srv.Approve(p.UserCode, subject); err != nil {
		t.Fatal(err)
	}
	fire(t, e.clk)
	return await(t, res)
}

func TestSTSTestLoginAndAssumeRole(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "http loopback", true: "https"}[tlsOn], func(t *testing.T) {
			e := newE2E(t, ststest.Client{RotateRefreshTokens: true}, func(o *ststest.Options) { o.TLS = tlsOn })
			src, rec := e.source(t)
			r := e.login(t, src, rec, "alice")
			if r.err != nil {
				t.Fatal(r.err)
			}
			out := e.assume(t, r.tok)
			if aws.ToString(out.SubjectFromWebIdentityToken) != "alice" || aws.ToString(out.Audience) != e2eClient {
				t.Fatalf("subject %q, audience %q", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Audience))
			}
			if !r.exp.Equal(e.clk.Now().Add(time.Hour)) {
				t.Errorf("expiry = %v, want an hour from now", r.exp)
			}
		})
	}
}

func TestSTSTestDenyExpireSlowDown(t *testing.T) {
	t.Run("deny", func(t *testing.T) {
		e := newE2E(t, ststest.Client{})
		src, rec := e.source(t)
		res := tokenAsync(testCtx(t), src)
		p := rec.next(t)
		waitTimer(t, e.clk)
		if err := e.srv.Deny(p.UserCode); err != nil {
			t.Fatal(err)
		}
		fire(t, e.clk)
		if r := await(t, res); !errors.Is(r.err, ErrAccessDenied) {
			t.Fatalf("err = %v", r.err)
		}
	})
	t.Run("expire", func(t *testing.T) {
		e := newE2E(t, ststest.Client{})
		src, rec := e.source(t)
		res := tokenAsync(testCtx(t), src)
		p := rec.next(t)
		waitTimer(t, e.clk)
		if err := e.srv.Expire(p.UserCode); err != nil {
			t.Fatal(err)
		}
		fire(t, e.clk)
		var te *TokenError
		if r := await(t, res); !errors.Is(r.err, ErrExpiredToken) || !errors.As(r.err, &te) || te.StatusCode == 0 {
			t.Fatalf("err = %v", r.err)
		}
	})
	t.Run("device code lifetime", func(t *testing.T) {
		e := newE2E(t, ststest.Client{DeviceCodeTTL: time.Minute, Interval: 20 * time.Second})
		src, rec := e.source(t)
		res := tokenAsync(testCtx(t), src)
		rec.next(t)
		autoAdvance(t, e.clk)
		if r := await(t, res); !errors.Is(r.err, ErrExpiredToken) {
			t.Fatalf("err = %v", r.err)
		}
	})
	t.Run("slow_down", func(t *testing.T) {
		e := newE2E(t, ststest.Client{EnforceInterval: true})
		src, rec := e.source(t)
		res := tokenAsync(testCtx(t), src)
		p := rec.next(t)
		if d := waitTimer(t, e.clk); d != 5*time.Second {
			t.Fatalf("first wait = %v", d)
		}
		for range 2 {
			if err := e.srv.SlowDown(p.UserCode); err != nil {
				t.Fatal(err)
			}
		}
		fire(t, e.clk)
		if d := fire(t, e.clk); d != 10*time.Second {
			t.Fatalf("wait after one slow_down = %v, want 10s", d)
		}
		if d := waitTimer(t, e.clk); d != 15*time.Second {
			t.Fatalf("wait after two slow_downs = %v, want 15s", d)
		}
		if err := e.srv.Approve(p.UserCode, "bob"); err != nil {
			t.Fatal(err)
		}
		fire(t, e.clk)
		r := await(t, res)
		if r.err != nil {
			t.Fatal(r.err)
		}
		e.assume(t, r.tok)
	})
}

func TestSTSTestNetworkBlips(t *testing.T) {
	e := newE2E(t, ststest.Client{})
	src, rec := e.source(t)
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, e.clk)
	e.srv.Fail(ststest.ActionToken, ststest.Fault{Reset: true, Times: 2})
	e.srv.Fail(ststest.ActionToken, ststest.Fault{})
	e.srv.Fail(ststest.ActionToken, ststest.Fault{Code: "temporarily_unavailable"})
	e.srv.Fail(ststest.ActionToken, ststest.Fault{Status: 502})
	if err := e.srv.Approve(p.UserCode, "carol"); err != nil {
		t.Fatal(err)
	}
	autoAdvance(t, e.clk)
	r := await(t, res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n := e.srv.Calls(ststest.ActionToken); n < 6 {
		t.Errorf("token requests = %d, want the 5 failures and a success after the first poll", n)
	}
	e.assume(t, r.tok)
}

func TestSTSTestRotationTwoSources(t *testing.T) {
	e := newE2E(t, ststest.Client{RotateRefreshTokens: true, ReuseRevokesFamily: true})
	dir := filepath.Join(t.TempDir(), "tokens")
	newSrc := func() (*Source, *promptRecorder) {
		fs, err := NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		return e.source(t, func(o *Options) { o.Store = fs })
	}
	a, recA := newSrc()
	b, _ := newSrc()
	if r := e.login(t, a, recA, "dave"); r.err != nil {
		t.Fatal(r.err)
	}
	ctx := testCtx(t)
	// b starts from the file, with no login.
	tb, err := b.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Past the ID token's expiry, both renew at once: one refresh. A second
	// refresh with the same (rotated) token would revoke the whole family.
	for round := range 3 {
		e.clk.Advance(time.Hour)
		e.srv.ResetCalls()
		release := e.srv.Hold(ststest.ActionToken)
		ra, rb := tokenAsync(ctx, a), tokenAsync(ctx, b)
		if err := e.srv.WaitCalls(ctx, ststest.ActionToken, 1); err != nil {
			t.Fatal(err)
		}
		release()
		r1, r2 := await(t, ra), await(t, rb)
		if r1.err != nil || r2.err != nil {
			t.Fatalf("round %d: %v, %v", round, r1.err, r2.err)
		}
		if r1.tok != r2.tok || r1.tok == tb.Value {
			t.Fatalf("round %d: want one new token for both", round)
		}
		if n := e.srv.Calls(ststest.ActionToken); n != 1 {
			t.Fatalf("round %d: token requests = %d, want 1", round, n)
		}
		tb.Value = r1.tok
		e.assume(t, r1.tok)
	}
}

func TestSTSTestRevokedRefreshToken(t *testing.T) {
	e := newE2E(t, ststest.Client{RotateRefreshTokens: true})
	store := newMemStore()
	src, rec := e.source(t, func(o *Options) { o.Store = store })
	if r := e.login(t, src, rec, "erin"); r.err != nil {
		t.Fatal(r.err)
	}
	e.srv.RevokeRefreshTokens()
	e.clk.Advance(2 * time.Hour)
	quiet, _ := e.source(t, func(o *Options) { o.Store = store; o.Interactive = false })
	_, err := quiet.Token(testCtx(t))
	var te *TokenError
	if !errors.Is(err, ErrLoginRequired) || !errors.As(err, &te) || te.ErrorCode != "invalid_grant" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "login required for issuer "+e.srv.Issuer()) {
		t.Errorf("message = %q", err)
	}
	// An interactive source falls back to a device login.
	r := e.login(t, src, rec, "erin")
	if r.err != nil {
		t.Fatal(r.err)
	}
	e.assume(t, r.tok)
}

func TestSTSTestAccessToken(t *testing.T) {
	e := newE2E(t, ststest.Client{})
	role := e.srv.AddRole(ststest.Role{Name: "api", Audience: "sts.amazonaws.com"})
	src, rec := e.source(t, func(o *Options) {
		o.UseAccessToken = true
		o.AuthParams = url.Values{"audience": {"sts.amazonaws.com"}}
	})
	r := e.login(t, src, rec, "frank")
	if r.err != nil {
		t.Fatal(r.err)
	}
	e.role = role
	out := e.assume(t, r.tok)
	if aws.ToString(out.Audience) != "sts.amazonaws.com" {
		t.Fatalf("audience = %q", aws.ToString(out.Audience))
	}
}

// TestSTSTestConfidentialClient logs in with a client that has a secret,
// sent either way: ststest, like Okta and Keycloak, authenticates the client
// at the device authorization endpoint too (RFC 8628 §3.1).
func TestSTSTestConfidentialClient(t *testing.T) {
	const secret = "s3cr3t/+=value"
	for _, tt := range []struct {
		name                 string
		style                oauth2.AuthStyle
		wantBasic, wantParam bool
	}{
		{"default", oauth2.AuthStyleAutoDetect, true, false}, // Basic, with a secret
		{"in header", oauth2.AuthStyleInHeader, true, false},
		{"in params", oauth2.AuthStyleInParams, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newE2E(t, ststest.Client{Secret: secret})
			base := e.srv.HTTPClient().Transport
			if base == nil {
				base = http.DefaultTransport
			}
			var mu sync.Mutex
			var basic, param []bool // per device authorization request
			spy := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if strings.HasSuffix(r.URL.Path, "/device/code") {
					body, _ := io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(body))
					form, _ := url.ParseQuery(string(body))
					id, sec, ok := r.BasicAuth()
					mu.Lock()
					basic = append(basic, ok && id == e2eClient && sec == url.QueryEscape(secret))
					param = append(param, form.Get("client_secret") == secret)
					mu.Unlock()
				}
				return base.RoundTrip(r)
			})
			src, rec := e.source(t, func(o *Options) {
				o.ClientSecret = NewSecret(secret)
				o.AuthStyle = tt.style
				o.HTTPClient = &http.Client{Transport: spy}
			})
			r := e.login(t, src, rec, "gina")
			if r.err != nil {
				t.Fatal(r.err)
			}
			e.assume(t, r.tok)
			mu.Lock()
			defer mu.Unlock()
			if len(basic) != 1 || basic[0] != tt.wantBasic || param[0] != tt.wantParam {
				t.Errorf("device authorization requests: Basic %v, client_secret parameter %v; want one, Basic %t, parameter %t", basic, param, tt.wantBasic, tt.wantParam)
			}
		})
	}
}

func TestSTSTestCancelWhilePolling(t *testing.T) {
	e := newE2E(t, ststest.Client{})
	src, rec := e.source(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	res := tokenAsync(ctx, src)
	rec.next(t)
	waitTimer(t, e.clk)
	cancel()
	if r := await(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v", r.err)
	}
}
