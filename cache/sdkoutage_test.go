package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// Figure 3 of the cache issue, both columns in one run: an STS outage seen
// by the Cache and by the SDK's stscreds.WebIdentityRoleProvider wrapped by
// config.LoadDefaultConfig (an aws.CredentialsCache), both against ststest
// over HTTP with the real STS client.
//
//   - Static stability: after one success, every AssumeRoleWithWebIdentity
//     request fails with IDPCommunicationError. sdkoCallers callers call
//     Retrieve until the credentials really expire; the figure is the share
//     of the calls made from the first (failed) refresh attempt until that
//     expiry which succeed. The Cache runs on a fake clock with 1-hour
//     credentials, a step of sdkoTick at a time, and is asserted to serve
//     all of them. The SDK runs on the wall clock (its wrapper reads it
//     through sdk.NowTime): ststest's clock is set back, as in
//     sdkbench_test.go, so that the 15-minute credentials expire about
//     sdkoSDKLifetime of real time after they are issued, and its wrapper
//     has an ExpiryWindow of sdkoExpiryWindow (with the default of 0 it
//     would only call STS once the credentials have expired). Its figures
//     are printed, not asserted.
//   - Failure storm: every request fails with ExpiredTokenException and no
//     valid credentials exist; sdkoStormGoroutines goroutines call Retrieve
//     sdkoStormCalls times each, all at once. The count is STS requests, not
//     provider calls. For the Cache the fake clock stands still during a
//     storm, so exactly one provider call is allowed; the storm is then
//     repeated at each of the next backoff steps, and the provider calls
//     are asserted to equal the steps. The SDK's wrapper shares one provider
//     call among the callers that arrive while it is in flight, and starts
//     the next as soon as it has failed: its requests follow one another as
//     fast as STS answers, about one per round of the goroutines.
//
// Retry waits. Both providers retry within one call, and both sides keep
// their default attempts: the SDK's STS client 3 for IDPCommunicationError
// (while its retry quota lasts: 500 tokens, 5 a retry, refilled only by
// successes), our provider 5, plus one call with a fresh token after
// ExpiredTokenException. Only the waits between attempts are dropped on
// both sides (sdkoSTSClient, sdkoInstantWaits): the SDK's would take up to
// 6 s of real time per call, and ours would need the fake clock driven
// through them. The SDK's STS client does not retry ExpiredTokenException.
const (
	sdkoCallers         = 4
	sdkoTick            = 5 * time.Second // the Cache's callers call every tick of fake time
	sdkoSDKLifetime     = 3 * time.Second // the SDK's 15-minute credentials, in real time (less up to 1 s: STS truncates)
	sdkoExpiryWindow    = 2 * time.Second
	sdkoStormGoroutines = 100
	sdkoStormCalls      = 100
	sdkoStormSteps      = 3 // backoff steps the Cache's storm covers
)

// TestOutageSDK prints figure 3 for the Cache and the SDK side by side and
// asserts the Cache's part: 100 % of the calls served until expiry, and one
// provider call per backoff step in a storm. It takes about 3 s of real
// time, nearly all of it the SDK's credentials running out.
//
//	go test -run TestOutage -v ./cache/
func TestOutageSDK(t *testing.T) {
	ours := sdkoRunCacheStable(t)
	sdk := sdkoRunSDKStable(t)
	oursStorm := sdkoRunCacheStorm(t)
	sdkStorm := sdkoRunSDKStorm(t)
	t.Log("\n" + sdkoTable(ours, sdk, oursStorm, sdkStorm))
}

// sdkoStable is what a static stability run measured.
type sdkoStable struct {
	Lifetime  time.Duration // from issue to expiry
	RefreshAt time.Duration // first refresh attempt, from issue
	Before    int           // calls before the first refresh attempt
	BeforeOK  int           // of them, served
	During    int           // calls from the first refresh attempt until expiry
	DuringOK  int           // of them, served the old credentials
	Attempts  int           // provider calls during the outage
	Requests  int           // STS requests during the outage
	FakeTicks int           // ticks of fake time (Cache only)
	Wall      time.Duration // real time the run took
}

// sdkoStorm is what a failure storm measured.
type sdkoStorm struct {
	Steps    int // backoff steps covered (Cache); 1 for the SDK
	Calls    int // Retrieve calls, all steps
	Failed   int
	Attempts int // provider calls
	Requests int // STS requests
	Wall     time.Duration
}

func (s sdkoStorm) perCall() float64 { return float64(s.Requests) / float64(s.Calls) }

// sdkoRunCacheStable runs the static stability part against the Cache in
// front of a provider.Provider, on a fake clock shared with ststest.
func sdkoRunCacheStable(t *testing.T) sdkoStable {
	t.Helper()
	wallStart := time.Now()
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	issued := clk.Now()
	srv := ststest.NewServer(func(o *ststest.Options) { o.Now = clk.Now })
	defer srv.Close()
	c, evs := sdkoNewCache(t, srv, clk)
	defer c.Close()
	sig := watch(c)

	creds := mustRetrieve(t, c)
	first := evs.next(t)
	if first.Outcome != OutcomeFetched {
		t.Fatalf("first refresh: %v, %v", first.Outcome, first.Err)
	}
	expiry, key := first.Expires, creds.AccessKeyID
	srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "IDPCommunicationError", Times: -1})
	calls0 := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)

	var r sdkoStable
	var before, beforeOK, during, duringOK atomic.Int64
	for now := issued.Add(sdkoTick); now.Before(expiry); now = now.Add(sdkoTick) {
		clk.Set(now)
		r.FakeTicks++
		var wg sync.WaitGroup
		for range sdkoCallers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				creds, err := c.Retrieve(context.Background())
				ok := err == nil && creds.AccessKeyID == key && !creds.Expires.After(expiry)
				n, nOK := &during, &duringOK
				if now.Before(first.NextRefresh) {
					n, nOK = &before, &beforeOK
				}
				n.Add(1)
				if ok {
					nOK.Add(1)
				}
			}()
		}
		wg.Wait()
		// In the advisory window the refresh runs in the background: let
		// it end before time moves on.
		waitFor(t, "the background refresh", sig, func() bool {
			c.in.mu.Lock()
			defer c.in.mu.Unlock()
			return c.in.inflight == nil
		})
	}
	_ = c.Close() // every event is in
	for i, ev := range evs.all()[1:] {
		if ev.Outcome != OutcomeFailed || !ev.Stale || ev.ErrorClass != "IDPCommunicationError" {
			t.Errorf("attempt %d: outcome %v, stale %v, class %q; want a failure with the old credentials kept", i+1, ev.Outcome, ev.Stale, ev.ErrorClass)
		}
		r.Attempts++
	}

	r.Lifetime, r.RefreshAt = expiry.Sub(issued), first.NextRefresh.Sub(issued)
	r.Before, r.BeforeOK = int(before.Load()), int(beforeOK.Load())
	r.During, r.DuringOK = int(during.Load()), int(duringOK.Load())
	r.Requests = srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - calls0
	r.Wall = time.Since(wallStart)
	if r.DuringOK != r.During || r.BeforeOK != r.Before {
		t.Errorf("Cache: %d/%d calls before the first refresh and %d/%d from it until expiry served; want all",
			r.BeforeOK, r.Before, r.DuringOK, r.During)
	}
	if r.During == 0 || r.Attempts == 0 {
		t.Errorf("Cache: %d calls and %d refresh attempts after the refresh moment; want some", r.During, r.Attempts)
	}
	if want := r.Attempts * 5; r.Requests != want { // 5: the provider's default MaxAttempts
		t.Errorf("Cache: %d STS requests for %d refresh attempts; want %d (the provider's %d attempts each)",
			r.Requests, r.Attempts, want, 5)
	}
	return r
}

// sdkoRunSDKStable runs the static stability part against the SDK's
// provider, on the wall clock.
func sdkoRunSDKStable(t *testing.T) sdkoStable {
	t.Helper()
	wallStart := time.Now()
	behind := sdkbRoleDuration - sdkoSDKLifetime
	srv := ststest.NewServer(func(o *ststest.Options) {
		o.Now = func() time.Time { return time.Now().Add(-behind) }
	})
	defer srv.Close()
	cfg, tokens := sdkoSDKConfig(t, srv)

	issued := time.Now()
	creds, err := sdkbRetrieve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The wrapper hands out Expires moved ExpiryWindow earlier: the moment
	// it calls the provider again.
	refreshAt := creds.Expires
	expiry := refreshAt.Add(sdkoExpiryWindow)
	if d := time.Until(expiry); d > sdkoSDKLifetime || d <= 0 {
		t.Fatalf("SDK credentials expire in %v; want (0, %v]: ExpiryWindow not applied, or the machine is too slow", d, sdkoSDKLifetime)
	}
	srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "IDPCommunicationError", Times: -1})
	calls0, tokens0 := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity), tokens.Load()

	// The load calls every sdkbRound of real time until the credentials
	// have expired; from then on it no longer calls the SDK.
	var before, beforeOK, during, duringOK atomic.Int64
	past := make(chan struct{})
	var once sync.Once
	errPast := errors.New("past expiry")
	load := sdkbStartLoad(sdkoCallers, 0, func(ctx context.Context) (aws.Credentials, error) {
		start := time.Now()
		if !start.Before(expiry) {
			once.Do(func() { close(past) })
			return aws.Credentials{}, errPast
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		n, nOK := &during, &duringOK
		if start.Before(refreshAt) {
			n, nOK = &before, &beforeOK
		}
		n.Add(1)
		if err == nil && creds.AccessKeyID != "" {
			nOK.Add(1)
		}
		return creds, err
	})
	limit := time.NewTimer(30 * time.Second) // only a bug gets there
	defer limit.Stop()
	select {
	case <-past:
	case <-limit.C:
		t.Fatal("the SDK's credentials did not expire within 30s")
	}
	load.stop()

	return sdkoStable{
		Lifetime:  expiry.Sub(issued),
		RefreshAt: refreshAt.Sub(issued),
		Before:    int(before.Load()),
		BeforeOK:  int(beforeOK.Load()),
		During:    int(during.Load()),
		DuringOK:  int(duringOK.Load()),
		Attempts:  int(tokens.Load() - tokens0),
		Requests:  srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - calls0,
		Wall:      time.Since(wallStart),
	}
}

// sdkoRunCacheStorm runs the failure storm against the Cache, one storm at
// each of sdkoStormSteps backoff steps, on a fake clock that stands still
// during each storm.
func sdkoRunCacheStorm(t *testing.T) sdkoStorm {
	t.Helper()
	wallStart := time.Now()
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	srv := ststest.NewServer(func(o *ststest.Options) { o.Now = clk.Now })
	defer srv.Close()
	srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "ExpiredTokenException", Times: -1})
	c, evs := sdkoNewCache(t, srv, clk)
	defer c.Close()

	// Each provider call is two STS requests: the provider retries once
	// with a fresh token after ExpiredTokenException.
	const perAttempt = 2
	r := sdkoStorm{Steps: sdkoStormSteps}
	for step := range sdkoStormSteps {
		if step > 0 {
			ev := evs.next(t)
			if ev.Outcome != OutcomeFailed || ev.ErrorClass != "ExpiredTokenException" {
				t.Fatalf("step %d: outcome %v, class %q; want ExpiredTokenException", step, ev.Outcome, ev.ErrorClass)
			}
			clk.Set(ev.NextRefresh) // the next backoff step
		}
		calls, failed := sdkoStorm100(func(ctx context.Context) error {
			_, err := c.Retrieve(ctx)
			var re *RefreshError
			if err != nil && !errors.As(err, &re) {
				return fmt.Errorf("not a *RefreshError: %w", err)
			}
			return err
		})
		r.Calls += calls
		r.Failed += failed
		if got := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); got != perAttempt*(step+1) {
			t.Errorf("Cache: after %d backoff step(s) and %d Retrieve: %d STS requests; want %d (one provider call a step)",
				step+1, r.Calls, got, perAttempt*(step+1))
		}
	}
	_ = c.Close()
	r.Attempts = len(evs.all())
	r.Requests = srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
	r.Wall = time.Since(wallStart)
	if r.Failed != r.Calls {
		t.Errorf("Cache: %d of %d Retrieve failed; want all", r.Failed, r.Calls)
	}
	if r.Attempts != sdkoStormSteps {
		t.Errorf("Cache: %d provider calls in %d backoff steps; want one a step", r.Attempts, sdkoStormSteps)
	}
	return r
}

// sdkoRunSDKStorm runs the failure storm against the SDK's provider.
func sdkoRunSDKStorm(t *testing.T) sdkoStorm {
	t.Helper()
	srv := ststest.NewServer()
	defer srv.Close()
	srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "ExpiredTokenException", Times: -1})
	cfg, tokens := sdkoSDKConfig(t, srv)
	start := time.Now()
	calls, failed := sdkoStorm100(func(ctx context.Context) error {
		_, err := cfg.Credentials.Retrieve(ctx)
		return err
	})
	r := sdkoStorm{
		Steps:    1,
		Calls:    calls,
		Failed:   failed,
		Attempts: int(tokens.Load()),
		Requests: srv.Calls(ststest.ActionAssumeRoleWithWebIdentity),
		Wall:     time.Since(start),
	}
	if r.Failed != r.Calls {
		t.Errorf("SDK: %d of %d Retrieve failed; want all (STS never answers)", r.Failed, r.Calls)
	}
	return r
}

// sdkoStorm100 makes sdkoStormGoroutines goroutines, released at once,
// call retrieve sdkoStormCalls times each, and returns the number of calls
// and of failures.
func sdkoStorm100(retrieve func(context.Context) error) (calls, failed int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only a bug reaches it
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range sdkoStormGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range sdkoStormCalls {
				if retrieve(ctx) != nil {
					n.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return sdkoStormGoroutines * sdkoStormCalls, int(n.Load())
}

// sdkoNewCache returns a Cache on clk in front of a provider.Provider with
// default options but instant retry waits, against srv.
func sdkoNewCache(t *testing.T, srv *ststest.Server, clk *clock.Fake) (*Cache, *events) {
	t.Helper()
	roleARN := srv.AddRole(ststest.Role{Name: "sdkoutage"})
	// A fresh token on every call: fake time moves by hours.
	src := tokensource.Func(func(context.Context) (tokensource.Token, error) {
		return tokensource.Token{Value: srv.MintToken(ststest.Claims{})}, nil
	})
	p, err := provider.New(srv.STSClient(), roleARN, src, func(o *provider.Options) {
		o.Clock = sdkoInstantWaits{clk}
		o.RoleSessionName = "sdkoutage"
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every random draw 0.5 (jitter and backoff), as in TestOutage.
	return newTestCache(t, clk, p, func(o *Options) { o.Rand = fixedRand(0.5) })
}

// sdkoSDKConfig returns the aws.Config users get from LoadDefaultConfig
// with the SDK's web identity provider against srv and an ExpiryWindow of
// sdkoExpiryWindow, and a count of the provider's calls (one token each).
func sdkoSDKConfig(t *testing.T, srv *ststest.Server) (aws.Config, *atomic.Int64) {
	t.Helper()
	tokens := new(atomic.Int64)
	roleARN := srv.AddRole(ststest.Role{Name: "sdkoutage"})
	web := stscreds.NewWebIdentityRoleProvider(sdkoSTSClient(srv), roleARN, sdkoTokens{[]byte(srv.MintToken(ststest.Claims{})), tokens}, func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = "sdkoutage"
		o.Duration = sdkbRoleDuration
	})
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_NEW_RETRIES_2026"} {
		t.Setenv(v, "")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(web),
		config.WithCredentialsCacheOptions(func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = sdkoExpiryWindow
		}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
		t.Fatalf("cfg.Credentials is %T; want the SDK's *aws.CredentialsCache", cfg.Credentials)
	}
	return cfg, tokens
}

// sdkoSTSClient is srv's STS client with the SDK's default retryer (3
// attempts, retry quota), less the waits between attempts.
func sdkoSTSClient(srv *ststest.Server) *sts.Client {
	return srv.STSClient(func(o *sts.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
}

// sdkoTokens gives the SDK's provider the same token on each call, as a
// token file read at each call would, and counts the calls. (Minting one
// per call, an RSA signature, would slow the SDK's storm down.)
type sdkoTokens struct {
	token []byte
	n     *atomic.Int64
}

func (r sdkoTokens) GetIdentityToken() ([]byte, error) {
	r.n.Add(1)
	return r.token, nil
}

// sdkoInstantWaits is the Cache's fake clock as the provider sees it: the
// same time, but every wait ends at once, so that the provider's default
// retries are all made without the test driving the clock through them.
type sdkoInstantWaits struct{ clock.Clock }

func (c sdkoInstantWaits) NewTimer(time.Duration) clock.Timer {
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return sdkoFired(ch)
}

// sdkoFired is a timer that has fired.
type sdkoFired <-chan time.Time

func (t sdkoFired) C() <-chan time.Time { return t }
func (sdkoFired) Stop() bool            { return false }

// sdkoTable prints figure 3 side by side, as a Markdown table.
func sdkoTable(ours, sdk sdkoStable, oursStorm, sdkStorm sdkoStorm) string {
	var b strings.Builder
	row := func(what, a, s, ratio string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", what, a, s, ratio)
	}
	pct := func(ok, n int) string {
		if n == 0 {
			return "0/0"
		}
		return fmt.Sprintf("%d/%d (%.1f %%)", ok, n, 100*float64(ok)/float64(n))
	}
	per := func(req, n int) string {
		if n == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", float64(req)/float64(n))
	}
	row("STS outage", "awsoidc cache.Cache", "SDK stscreds + aws.CredentialsCache (LoadDefaultConfig)", "SDK / awsoidc")
	row("---", "---", "---", "---")
	row("**(a) IDPCommunicationError on every request after one success**", "", "", "")
	row("credentials' lifetime", ours.Lifetime.String()+" (fake clock)",
		fmt.Sprintf("15m0s, %v of it in real time (ststest clock set back)", sdk.Lifetime.Round(time.Millisecond)), "")
	row("first refresh attempt", fmt.Sprintf("+%v (jittered advisory window)", ours.RefreshAt),
		fmt.Sprintf("+%v (ExpiryWindow %v)", sdk.RefreshAt.Round(time.Millisecond), sdkoExpiryWindow), "")
	row(fmt.Sprintf("callers (%d), calling every", sdkoCallers), sdkoTick.String()+" of fake time", sdkbRound.String()+" of real time", "")
	row("Retrieve before the first refresh attempt: served", pct(ours.BeforeOK, ours.Before), pct(sdk.BeforeOK, sdk.Before), "")
	row("**Retrieve from the first refresh attempt until expiry: served**",
		"**"+pct(ours.DuringOK, ours.During)+"**", "**"+pct(sdk.DuringOK, sdk.During)+"**", "")
	row("provider calls in that span", fmt.Sprint(ours.Attempts), fmt.Sprint(sdk.Attempts), "")
	row("STS requests in that span (per provider call)",
		fmt.Sprintf("%d (%s)", ours.Requests, per(ours.Requests, ours.Attempts)),
		fmt.Sprintf("%d (%s)", sdk.Requests, per(sdk.Requests, sdk.Attempts)), "")
	row("STS requests per Retrieve in that span", per(ours.Requests, ours.During), per(sdk.Requests, sdk.During), "")
	row(fmt.Sprintf("**(b) ExpiredTokenException, no valid credentials: %d goroutines × %d Retrieve**", sdkoStormGoroutines, sdkoStormCalls), "", "", "")
	row("backoff steps covered", fmt.Sprintf("%d (fake clock still during each storm)", oursStorm.Steps), "n/a (wall clock)", "")
	row("Retrieve calls, failed", fmt.Sprintf("%d, %d", oursStorm.Calls, oursStorm.Failed), fmt.Sprintf("%d, %d", sdkStorm.Calls, sdkStorm.Failed), "")
	row("provider calls", fmt.Sprintf("%d (1 per step)", oursStorm.Attempts), fmt.Sprint(sdkStorm.Attempts), "")
	row("STS requests", fmt.Sprintf("%d (%d per step)", oursStorm.Requests, oursStorm.Requests/oursStorm.Steps), fmt.Sprint(sdkStorm.Requests), "")
	row(fmt.Sprintf("**STS requests per storm of %d Retrieve**", sdkoStormGoroutines*sdkoStormCalls),
		fmt.Sprintf("**%d**", oursStorm.Requests/oursStorm.Steps), fmt.Sprintf("**%d**", sdkStorm.Requests),
		fmt.Sprintf("%.0f×", float64(sdkStorm.Requests)/(float64(oursStorm.Requests)/float64(oursStorm.Steps))))
	row("STS requests per Retrieve", fmt.Sprintf("%.4f", oursStorm.perCall()), fmt.Sprintf("%.3f", sdkStorm.perCall()),
		fmt.Sprintf("%.0f×", sdkStorm.perCall()/oursStorm.perCall()))
	row("STS requests per second of the storm (printed only)",
		fmt.Sprintf("≤ %d (%d per backoff step, steps ≥ %v apart)", oursStorm.Requests/oursStorm.Steps, oursStorm.Requests/oursStorm.Steps, defaultMinBackoff),
		fmt.Sprintf("%.0f (%d in %v)", float64(sdkStorm.Requests)/sdkStorm.Wall.Seconds(), sdkStorm.Requests, sdkStorm.Wall.Round(time.Millisecond)), "")
	row("real time of (a)", ours.Wall.Round(time.Millisecond).String(), sdk.Wall.Round(time.Millisecond).String(), "")
	return b.String()
}
