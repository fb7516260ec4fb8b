package deviceflow

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
)

func TestLoginApproved(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, store := newTestSource(t, idp, clk)
	ctx := testCtx(t)

	res := tokenAsync(ctx, src)
	p := rec.next(t)
	if p.UserCode == "" || !strings.HasPrefix(p.VerificationURI, idp.issuer()) || !strings.Contains(p.VerificationURIComplete, p.UserCode) {
		t.Fatalf("prompt = %+v", p)
	}
	if want := t0.Add(600 * time.Second); !p.Expiry.Equal(want) || p.Interval != 5*time.Second {
		t.Errorf("prompt expiry = %v, interval %v; want %v, 5s", p.Expiry, p.Interval, want)
	}
	// The first poll goes out at once (golang/oauth2#775): by the time the
	// loop sleeps, it has polled once.
	if d := waitTimer(t, clk); d != 5*time.Second {
		t.Errorf("wait after authorization_pending = %v, want the 5 s interval", d)
	}
	if n := idp.count("device_code"); n != 1 {
		t.Fatalf("polls before the first wait = %d, want 1", n)
	}
	idp.approve(p.UserCode)
	fire(t, clk)
	r := await(t, res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := t0.Add(5*time.Second + time.Hour); !r.exp.Equal(want) { // issued at the second poll
		t.Errorf("expiry = %v, want %v", r.exp, want)
	}
	stored, ok, _ := store.Load(ctx, StoreKey(idp.issuer(), testClientID))
	if !ok || stored.IDToken != r.tok || stored.RefreshToken == "" || stored.AccessToken == "" {
		t.Fatalf("stored = %v, %v", stored, ok)
	}
	// The device access token request (RFC 8628 §3.4).
	idp.mu.Lock()
	form := idp.forms[0]
	idp.mu.Unlock()
	if form.Get("grant_type") != deviceCodeGrant || form.Get("device_code") == "" || form.Get("client_id") != testClientID || form.Get("code") != "" {
		t.Errorf("poll form = %v", form)
	}

	// Served from memory: no new request.
	calls := idp.count("device_code") + idp.count("refresh_token")
	tok, err := src.Token(ctx)
	if err != nil || tok.Value != r.tok {
		t.Fatalf("second Token() = %v, %v", tok, err)
	}
	if n := idp.count("device_code") + idp.count("refresh_token"); n != calls {
		t.Errorf("second Token() made %d token requests", n-calls)
	}
	if n := idp.count("discovery"); n != 1 {
		t.Errorf("discovery requests = %d, want 1", n)
	}
}

func TestSlowDownIsCumulative(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, _ := newTestSource(t, idp, clk)
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	// The first poll already ran (pending); script two slow_downs next.
	if d := waitTimer(t, clk); d != 5*time.Second {
		t.Fatalf("first wait = %v", d)
	}
	idp.slowDown(p.UserCode, 2)
	var waits []time.Duration
	for range 3 {
		clk.Advance(waitTimer(t, clk))
		waits = append(waits, waitTimer(t, clk))
	}
	// RFC 8628 §3.5: +5 s for this and all subsequent requests.
	want := []time.Duration{10 * time.Second, 15 * time.Second, 15 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits = %v, want %v", waits, want)
		}
	}
	idp.approve(p.UserCode)
	fire(t, clk)
	if r := await(t, res); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestDefaultInterval(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	idp.set(func(i *fakeIdP) { i.interval = 0; i.expiresIn = 0 })
	src, rec, _ := newTestSource(t, idp, clk)
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	// RFC 8628 §3.2: no interval means 5 s; no expires_in, our default.
	if d := waitTimer(t, clk); d != 5*time.Second {
		t.Errorf("wait = %v, want 5s", d)
	}
	if want := t0.Add(defaultDeviceCodeLifetime); !p.Expiry.Equal(want) || p.Interval != defaultInterval {
		t.Errorf("expiry = %v, interval %v; want %v, %v", p.Expiry, p.Interval, want, defaultInterval)
	}
	idp.approve(p.UserCode)
	fire(t, clk)
	if r := await(t, res); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestAccessDenied(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, store := newTestSource(t, idp, clk)
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, clk)
	idp.setState(p.UserCode, "denied")
	fire(t, clk)
	r := await(t, res)
	if !errors.Is(r.err, ErrAccessDenied) || errors.Is(r.err, ErrExpiredToken) {
		t.Fatalf("err = %v, want ErrAccessDenied", r.err)
	}
	var te *TokenError
	if !errors.As(r.err, &te) || te.ErrorCode != "access_denied" || te.StatusCode != 400 ||
		te.ErrorDescription != "The end-user denied the request" || te.ErrorURI == "" || te.Grant != "device_code" {
		t.Fatalf("TokenError = %#v", te)
	}
	var re *oauth2.RetrieveError
	if !errors.As(r.err, &re) {
		t.Error("the oauth2.RetrieveError is not reachable")
	}
	if !strings.Contains(r.err.Error(), "denied") {
		t.Errorf("message = %q", r.err)
	}
	if _, ok, _ := store.Load(context.Background(), src.key); ok {
		t.Error("tokens stored after a denial")
	}
}

func TestExpiredTokenFromServer(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, _ := newTestSource(t, idp, clk)
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, clk)
	idp.setState(p.UserCode, "expired")
	fire(t, clk)
	r := await(t, res)
	var te *TokenError
	if !errors.Is(r.err, ErrExpiredToken) || !errors.As(r.err, &te) || te.StatusCode != 400 {
		t.Fatalf("err = %v, want ErrExpiredToken from the server", r.err)
	}
}

func TestExpiresLocally(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	idp.set(func(i *fakeIdP) { i.expiresIn = 12; i.interval = 5 })
	src, rec, _ := newTestSource(t, idp, clk)
	res := tokenAsync(testCtx(t), src)
	rec.next(t)
	// Polls at 0, 5, 10; the last wait is cut to the expiry at 12.
	var waits []time.Duration
	for range 3 {
		waits = append(waits, fire(t, clk))
	}
	r := await(t, res)
	if waits[0] != 5*time.Second || waits[1] != 5*time.Second || waits[2] != 2*time.Second {
		t.Errorf("waits = %v, want [5s 5s 2s]", waits)
	}
	var te *TokenError
	if !errors.Is(r.err, ErrExpiredToken) || !errors.As(r.err, &te) || te.StatusCode != 0 {
		t.Fatalf("err = %v, want a local ErrExpiredToken", r.err)
	}
	if n := idp.count("device_code"); n != 3 {
		t.Errorf("polls = %d, want 3", n)
	}
}

func TestNetworkBlipsWhilePolling(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, _ := newTestSource(t, idp, clk)
	src.pollBackoff.Rand = func() float64 { return 0.999 }
	idp.set(func(i *fakeIdP) {
		i.faults = []fault{{status: 503}, {drop: true}, {status: 500, code: "server_error"}, {status: 502}, {status: 429}}
	})
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	var waits []time.Duration
	for range 5 {
		waits = append(waits, fire(t, clk))
	}
	// Interval plus a growing backoff after each failure.
	for i, w := range waits {
		lo := 5 * time.Second
		if w < lo || (i > 0 && w <= waits[i-1]) {
			t.Fatalf("waits = %v: want at least the interval, growing", waits)
		}
	}
	// After the blips, back to the plain interval.
	if d := waitTimer(t, clk); d != 5*time.Second {
		t.Errorf("wait after recovery = %v, want 5s", d)
	}
	idp.approve(p.UserCode)
	fire(t, clk)
	r := await(t, res)
	if r.err != nil {
		t.Fatal(r.err)
	}
}

func TestBlipsUntilExpiry(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	idp.set(func(i *fakeIdP) {
		i.expiresIn = 30
		for range 100 {
			i.faults = append(i.faults, fault{status: 503})
		}
	})
	src, rec, _ := newTestSource(t, idp, clk)
	res := tokenAsync(testCtx(t), src)
	rec.next(t)
	autoAdvance(t, clk)
	r := await(t, res)
	if !errors.Is(r.err, ErrExpiredToken) {
		t.Fatalf("err = %v, want ErrExpiredToken", r.err)
	}
	if !strings.Contains(r.err.Error(), "503") {
		t.Errorf("the message should carry the last error: %q", r.err)
	}
	if clk.Now().After(t0.Add(30 * time.Second)) {
		t.Errorf("polled past the expiry: %v", clk.Now().Sub(t0))
	}
}

func TestPermanentPollError(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	idp.set(func(i *fakeIdP) { i.faults = []fault{{status: 401, code: "invalid_client"}} })
	src, rec, _ := newTestSource(t, idp, clk)
	r := await(t, tokenAsync(testCtx(t), src))
	rec.next(t)
	var te *TokenError
	if !errors.As(r.err, &te) || te.ErrorCode != "invalid_client" || te.StatusCode != 401 {
		t.Fatalf("err = %v", r.err)
	}
}

func TestNotInteractive(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, _ := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	_, err := src.Token(testCtx(t))
	if !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err = %v, want ErrLoginRequired", err)
	}
	if !strings.Contains(err.Error(), "login required for issuer "+idp.issuer()+", client "+testClientID) {
		t.Errorf("message should name the login required: %q", err)
	}
	if n := idp.count("discovery") + idp.count("device_authorization"); n != 0 {
		t.Errorf("made %d requests", n)
	}
}

func TestLoginCancelled(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	promptEnded := make(chan struct{})
	src, _, _ := newTestSource(t, idp, clk, func(o *Options) {
		o.Prompt = PromptFunc(func(ctx context.Context, p Prompt) error {
			<-ctx.Done() // a prompt that shows progress until the login ends
			close(promptEnded)
			return nil
		})
	})
	ctx, cancel := context.WithCancel(testCtx(t))
	res := tokenAsync(ctx, src)
	waitTimer(t, clk)
	cancel()
	r := await(t, res)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	select {
	case <-promptEnded:
	default:
		t.Fatal("Token returned before the prompt ended")
	}
	// A later login works (the process-wide login lock was released).
	src2, rec2, _ := newTestSource(t, idp, clk)
	res2 := tokenAsync(testCtx(t), src2)
	p := rec2.next(t)
	waitTimer(t, clk)
	idp.approve(p.UserCode)
	fire(t, clk)
	if r := await(t, res2); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestCancelWhileWaitingForRenewal(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, _ := newTestSource(t, idp, clk)
	first := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, clk)
	// A second caller waits for the login in flight, and can give up.
	ctx, cancel := context.WithCancel(testCtx(t))
	second := tokenAsync(ctx, src)
	cancel()
	if r := await(t, second); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("second err = %v", r.err)
	}
	// A third caller gets the result of the same login.
	third := tokenAsync(testCtx(t), src)
	idp.approve(p.UserCode)
	fire(t, clk)
	r1, r3 := await(t, first), await(t, third)
	if r1.err != nil || r3.err != nil || r1.tok != r3.tok {
		t.Fatalf("results: %v / %v", r1.err, r3.err)
	}
	if n := idp.count("device_authorization"); n != 1 {
		t.Errorf("device authorizations = %d, want 1", n)
	}
}

func TestPromptErrorEndsLogin(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	boom := errors.New("no terminal")
	src, _, _ := newTestSource(t, idp, clk, func(o *Options) {
		o.Prompt = PromptFunc(func(context.Context, Prompt) error { return boom })
	})
	res := tokenAsync(testCtx(t), src)
	// The loop notices the failed prompt while it waits.
	r := await(t, res)
	if !errors.Is(r.err, boom) {
		t.Fatalf("err = %v, want the prompt's error", r.err)
	}
}

func TestOnePromptPerProcess(t *testing.T) {
	clk := clock.NewFake(t0)
	idpA, idpB := newFakeIdP(t, clk), newFakeIdP(t, clk)
	var (
		active = make(chan int, 2)
		codes  = make(chan string, 2)
	)
	active <- 0
	prompt := PromptFunc(func(ctx context.Context, p Prompt) error {
		n := <-active
		active <- n + 1
		if n != 0 {
			t.Errorf("%d prompts at once", n+1)
		}
		codes <- p.UserCode
		<-ctx.Done()
		n = <-active
		active <- n - 1
		return nil
	})
	srcA, _, _ := newTestSource(t, idpA, clk, func(o *Options) { o.Prompt = prompt })
	srcB, _, _ := newTestSource(t, idpB, clk, func(o *Options) { o.Prompt = prompt })
	resA, resB := tokenAsync(testCtx(t), srcA), tokenAsync(testCtx(t), srcB)
	for range 2 {
		code := <-codes
		waitTimer(t, clk)
		idpA.mu.Lock()
		_, isA := idpA.users[code]
		idpA.mu.Unlock()
		if isA {
			idpA.approve(code)
		} else {
			idpB.approve(code)
		}
		fire(t, clk)
	}
	if ra, rb := await(t, resA), await(t, resB); ra.err != nil || rb.err != nil {
		t.Fatal(ra.err, rb.err)
	}
}

func TestForcedLoginAndLogout(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
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
	if _, err := src.Token(ctx); err != nil {
		t.Fatalf("Token after Login: %v", err)
	}
	if err := src.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := store.Load(ctx, src.key); ok {
		t.Fatal("tokens still stored after Logout")
	}
	if _, err := src.Token(ctx); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("Token after Logout: %v", err)
	}
}

func TestUseAccessToken(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	idp.set(func(i *fakeIdP) { i.jwtAccessToken = true })
	src, rec, _ := newTestSource(t, idp, clk, func(o *Options) { o.UseAccessToken = true })
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, clk)
	idp.approve(p.UserCode)
	fire(t, clk)
	r := await(t, res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.exp.Equal(t0.Add(5*time.Second+10*time.Minute)) || strings.Count(r.tok, ".") != 2 {
		t.Fatalf("access token expiry = %v", r.exp)
	}
}

func TestMissingIDToken(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, _ := newTestSource(t, idp, clk)
	if _, err := src.fromOAuth2(&oauth2.Token{AccessToken: "a"}, nil); !errors.Is(err, errNoIDToken) {
		t.Fatalf("err = %v", err)
	}
	bad := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"id_token": "not-a-jwt"})
	if _, err := src.fromOAuth2(bad, nil); err == nil || strings.Contains(err.Error(), "not-a-jwt") {
		t.Fatalf("err = %v", err)
	}
}
