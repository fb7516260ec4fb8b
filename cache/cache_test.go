package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/awsoidc/awsoidc/clock"
)

// canceled is a ctx that is already done: a Retrieve that had to wait
// would return its error, so a success with it proves Retrieve did not wait.
var canceled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// retrieveNow calls Retrieve with a done ctx and fails the test if it did
// not return credentials at once.
func retrieveNow(t *testing.T, c *Cache) aws.Credentials {
	t.Helper()
	creds, err := c.Retrieve(canceled)
	if err != nil {
		t.Fatalf("Retrieve did not return at once: %v", err)
	}
	return creds
}

func TestColdStartThenFastPath(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)

	creds := mustRetrieve(t, c)
	if creds.AccessKeyID != "AKID1" || !creds.Expires.Equal(t0.Add(45*time.Minute)) {
		t.Fatalf("first Retrieve: %s expires %v; want AKID1 at +45m (the refresh moment)", creds.AccessKeyID, creds.Expires)
	}
	ev := evs.next(t)
	if ev.Outcome != OutcomeFetched || !ev.Expires.Equal(t0.Add(time.Hour)) || !ev.NextRefresh.Equal(t0.Add(45*time.Minute)) || ev.Err != nil {
		t.Errorf("event: %+v", ev)
	}
	for i := 0; i < 100; i++ {
		clk.Advance(20 * time.Second)
		if got := retrieveNow(t, c); got.AccessKeyID != "AKID1" {
			t.Fatalf("fresh Retrieve: %s", got.AccessKeyID)
		}
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("provider calls = %d; want 1", n)
	}
	if n := c.in.waited.Load(); n != 1 {
		t.Errorf("callers that waited = %d; want 1 (the cold start)", n)
	}
}

func TestFastPathDoesNotAllocate(t *testing.T) {
	p := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
	})
	for _, tt := range []struct {
		name string
		clk  clock.Clock
	}{{"wall clock", nil}, {"fake clock", clock.NewFake(time.Now())}} {
		t.Run(tt.name, func(t *testing.T) {
			c := New(p, func(o *Options) { o.Clock = tt.clk })
			defer c.Close()
			ctx := context.Background()
			mustRetrieve(t, c)
			if allocs := testing.AllocsPerRun(1000, func() { _, _ = c.Retrieve(ctx) }); allocs != 0 {
				t.Errorf("fresh Retrieve allocates %v times; want 0", allocs)
			}
		})
	}
}

func TestAdvisoryWindowRefreshesInBackground(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	mustRetrieve(t, c)
	evs.next(t)

	clk.Set(t0.Add(46 * time.Minute)) // advisory: 45m to 55m
	release := p.block()
	p.called = make(chan struct{}, 100)
	for i := 0; i < 100; i++ {
		creds := retrieveNow(t, c)
		if creds.AccessKeyID != "AKID1" {
			t.Fatalf("advisory Retrieve returned %s; want the cached AKID1", creds.AccessKeyID)
		}
		// The SDK's wrapper may keep them for refreshingHold while the
		// refresh is in flight.
		if want := t0.Add(46*time.Minute + refreshingHold); !creds.Expires.Equal(want) {
			t.Fatalf("advisory Expires %v; want %v (now + refreshingHold)", creds.Expires, want)
		}
	}
	<-p.called
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls = %d; want 2 (one background refresh for 100 callers)", n)
	}
	release()
	ev := evs.next(t)
	if ev.Outcome != OutcomeFetched {
		t.Fatalf("background refresh: %+v", ev)
	}
	creds := retrieveNow(t, c)
	if creds.AccessKeyID != "AKID2" || !creds.Expires.Equal(t0.Add(46*time.Minute+45*time.Minute)) {
		t.Errorf("after refresh: %s expires %v", creds.AccessKeyID, creds.Expires)
	}
	if n := c.in.waited.Load(); n != 1 {
		t.Errorf("callers that waited = %d; want 1 (the cold start only)", n)
	}
}

func TestAdvisoryFailureIsRetriedOnBackoff(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.MinBackoff, o.MaxBackoff = 10*time.Second, time.Minute })
	mustRetrieve(t, c)
	evs.next(t)

	p.setFail(errSTSDown)
	clk.Set(t0.Add(46 * time.Minute))
	retrieveNow(t, c)
	ev := evs.next(t)
	if ev.Outcome != OutcomeFailed || !ev.Stale || !errors.Is(ev.Err, errSTSDown) || ev.Failures != 1 {
		t.Fatalf("event: %+v", ev)
	}
	next := t0.Add(46*time.Minute + 10*time.Second)
	if !ev.NextRefresh.Equal(next) {
		t.Errorf("next attempt %v; want %v", ev.NextRefresh, next)
	}
	// Until the backoff ends: cached credentials, no call, and an Expires
	// that brings the SDK's cache back at the next attempt.
	clk.Set(next.Add(-time.Second))
	creds := retrieveNow(t, c)
	if creds.AccessKeyID != "AKID1" || !creds.Expires.Equal(next) {
		t.Errorf("during backoff: %s expires %v; want AKID1 at %v", creds.AccessKeyID, creds.Expires, next)
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls during backoff = %d; want 2", n)
	}
	p.setFail(nil)
	clk.Set(next)
	retrieveNow(t, c)
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("retry: %+v", ev)
	}
	if got := retrieveNow(t, c); got.AccessKeyID != "AKID3" {
		t.Errorf("after retry: %s", got.AccessKeyID)
	}
}

// TestMandatoryWindowDupSuppress is the deterministic duplicate
// suppression test: 1000 goroutines in the mandatory window wait for one
// provider call, and all get its result.
func TestMandatoryWindowDupSuppress(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	sig := watch(c)
	mustRetrieve(t, c)
	evs.next(t)

	clk.Set(t0.Add(56 * time.Minute)) // mandatory: after 55m
	release := p.block()
	p.called = make(chan struct{}, 10)
	const n = 1000
	results := make([]<-chan retrieval, n)
	for i := range results {
		results[i] = goRetrieve(c)
	}
	<-p.called
	waitFor(t, "1000 waiting callers", sig, func() bool { return c.in.waiting.Load() == n })
	release()
	for _, r := range results {
		if creds := (<-r).must(t); creds.AccessKeyID != "AKID2" {
			t.Fatalf("a waiter got %s; want AKID2", creds.AccessKeyID)
		}
	}
	if got := p.calls.Load(); got != 2 {
		t.Errorf("provider calls = %d; want 2 (cold start + one refresh for %d callers)", got, n)
	}
}

// TestWaiterCancellation is the explicit cancellation test: a caller
// waiting for a refresh leaves when its ctx is cancelled or its deadline
// passes, with the cached credentials if they are still valid at that
// moment, else with the ctx error; the refresh goes on for the others, its
// ctx untouched. MaxWait is longer than the clock moves while the caller
// waits, so that its ctx, not MaxWait, ends the wait.
func TestWaiterCancellation(t *testing.T) {
	leaves := []struct {
		name string
		ctx  func() (context.Context, func())
		want error
	}{
		{"cancel", func() (context.Context, func()) { return context.WithCancel(context.Background()) }, context.Canceled},
		{"deadline", func() (context.Context, func()) {
			ctx := newExpiringCtx()
			return ctx, ctx.expire
		}, context.DeadlineExceeded},
	}
	expiry := t0.Add(time.Hour)
	tests := []struct {
		name   string
		at     time.Duration // when the caller starts waiting, from t0; 0: cold start
		leave  time.Duration // when its ctx ends, from t0; 0: at once
		served bool          // it gets the cached credentials, else the ctx error
	}{
		{"cold start", 0, 0, false},
		{"mandatory window: the cached credentials", 56 * time.Minute, 0, true},
		{"mandatory window, leaves 1 ns before expiry: the cached credentials", 59*time.Minute + 45*time.Second, time.Hour - 1, true},
		{"mandatory window, leaves at expiry: the ctx error", 59*time.Minute + 45*time.Second, time.Hour, false},
		{"expired: the ctx error", 2 * time.Hour, 0, false},
	}
	for _, lv := range leaves {
		for _, tt := range tests {
			t.Run(lv.name+"/"+tt.name, func(t *testing.T) {
				clk := clock.NewFake(t0)
				p := newTestProvider(clk, time.Hour)
				c, evs := newTestCache(t, clk, p, func(o *Options) { o.MaxWait = time.Minute })
				sig := watch(c)
				if tt.at > 0 {
					mustRetrieve(t, c)
					evs.next(t)
					clk.Set(t0.Add(tt.at))
				}
				release := p.block()
				defer release()
				p.called = make(chan struct{}, 10)

				ctx, leave := lv.ctx()
				defer leave()
				type result struct {
					creds aws.Credentials
					err   error
				}
				done := make(chan result, 1)
				go func() {
					creds, err := c.Retrieve(ctx)
					done <- result{creds, err}
				}()
				<-p.called
				waitFor(t, "the caller to wait", sig, func() bool { return c.in.waiting.Load() == 1 })
				if tt.leave > 0 {
					clk.Set(t0.Add(tt.leave)) // less than the refresh timeout: the refresh still runs
				}
				leave()
				res := <-done
				if tt.served {
					if res.err != nil || res.creds.AccessKeyID != "AKID1" {
						t.Fatalf("Retrieve after leaving: %q, %v; want the cached AKID1", res.creds.AccessKeyID, res.err)
					}
					if now := clk.Now(); !res.creds.Expires.After(now) || res.creds.Expires.After(expiry) {
						t.Errorf("Expires +%v; want in (now +%v, expiry +%v]", res.creds.Expires.Sub(t0), now.Sub(t0), expiry.Sub(t0))
					}
				} else if !errors.Is(res.err, lv.want) {
					t.Fatalf("Retrieve after leaving: %q, %v; want %v", res.creds.AccessKeyID, res.err, lv.want)
				}

				// The refresh goes on for the others: it did not see the
				// caller's cancellation.
				next := goRetrieve(c)
				waitFor(t, "a second caller to wait", sig, func() bool { return c.in.waiting.Load() == 1 })
				release()
				if creds := (<-next).must(t); creds.AccessKeyID != fmt.Sprintf("AKID%d", p.calls.Load()) {
					t.Errorf("second caller: %q; want the refreshed credentials", creds.AccessKeyID)
				}
				p.mu.Lock()
				ctxErr := p.ctxErr
				p.mu.Unlock()
				if ctxErr != nil {
					t.Errorf("the provider's ctx was cancelled (%v) by a caller leaving", ctxErr)
				}
				if ev := evs.next(t); ev.Outcome != OutcomeFetched {
					t.Errorf("refresh: %+v", ev)
				}
			})
		}
	}
}

// TestGaveUpWarnsOncePerRefresh: many callers that leave one hanging refresh
// through their ctx in the mandatory window are all served the valid cached
// credentials, with one warning for that refresh, not one per caller; a
// later refresh that hangs warns again. No secret reaches the log.
func TestGaveUpWarnsOncePerRefresh(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	var logs bytes.Buffer
	c, evs := newTestCache(t, clk, p, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	sig := watch(c)
	mustRetrieve(t, c)
	evs.next(t)
	clk.Set(t0.Add(56 * time.Minute))
	p.called = make(chan struct{}, 10)

	// hang starts a refresh that hangs, makes n callers wait for it and
	// leave through their deadline, then n more that come with a ctx already
	// done, and checks that all got AKID1.
	hang := func(n int) (release func()) {
		t.Helper()
		release = p.block()
		ctx := newExpiringCtx()
		errs := make(chan error, 2*n)
		var wg sync.WaitGroup
		retrieve := func(ctx context.Context) {
			defer wg.Done()
			creds, err := c.Retrieve(ctx)
			if err == nil && creds.AccessKeyID != "AKID1" {
				err = fmt.Errorf("got %s; want the cached AKID1", creds.AccessKeyID)
			}
			errs <- err
		}
		for range n {
			wg.Add(1)
			go retrieve(ctx)
		}
		<-p.called
		waitFor(t, "the callers to wait", sig, func() bool { return c.in.waiting.Load() == int64(n) })
		ctx.expire()
		wg.Wait()
		for range n {
			wg.Add(1)
			go retrieve(canceled)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a caller that left: %v", err)
			}
		}
		return release
	}
	const warning = `"level":"WARN","msg":"cache: a caller stopped waiting for the credentials refresh; serving the cached credentials until they expire"`

	// The first refresh hangs, then fails (the provider reads its failure
	// before it blocks).
	p.setFail(errSTSDown)
	release := hang(50)
	if got := strings.Count(logs.String(), warning); got != 1 {
		t.Fatalf("%d warnings for 100 callers leaving one refresh; want 1:\n%s", got, logs.String())
	}
	release()
	if ev := evs.next(t); ev.Outcome != OutcomeFailed || !ev.Stale {
		t.Fatalf("first refresh: %+v", ev)
	}

	// The next attempt, after the backoff, hangs too: one more warning.
	p.setFail(nil)
	clk.Set(c.in.nextAttempt)
	release = hang(20)
	if got := strings.Count(logs.String(), warning); got != 2 {
		t.Errorf("%d warnings after a second hanging refresh; want 2:\n%s", got, logs.String())
	}
	release()
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("second refresh: %+v", ev)
	}
	if got := p.calls.Load(); got != 3 {
		t.Errorf("provider calls = %d; want 3 (cold start and two refreshes for 140 callers)", got)
	}
	if strings.Contains(logs.String(), "SECRET") || strings.Contains(logs.String(), "TOKEN-") {
		t.Errorf("a secret reached the logs:\n%s", logs.String())
	}
}

// expiringCtx is a ctx whose deadline the test makes pass at a moment of
// its choosing, without a real timer: Done closes and Err is
// context.DeadlineExceeded, as when a real deadline passes.
type expiringCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiringCtx() *expiringCtx {
	return &expiringCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiringCtx) Done() <-chan struct{} { return c.done }

func (c *expiringCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// expire makes the deadline pass; later calls do nothing.
func (c *expiringCtx) expire() { c.once.Do(func() { close(c.done) }) }

// TestStaticStability: in the mandatory window a failed refresh serves the
// still-valid credentials until they really expire; after that Retrieve
// fails, and remembers the failure.
func TestStaticStability(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	var logs bytes.Buffer
	c, evs := newTestCache(t, clk, p, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.MinBackoff, o.MaxBackoff = 30*time.Second, 30*time.Second
	})
	mustRetrieve(t, c)
	evs.next(t)
	expiry := t0.Add(time.Hour)

	p.setFail(errSTSDown)
	var served, failed int
	for at := 55 * time.Minute; at < 70*time.Minute; at += 5 * time.Second {
		clk.Set(t0.Add(at))
		creds, err := c.Retrieve(context.Background())
		now := clk.Now()
		switch {
		case now.Before(expiry):
			if err != nil {
				t.Fatalf("at +%v, before expiry: %v", at, err)
			}
			if creds.AccessKeyID != "AKID1" || creds.Expires.After(expiry) {
				t.Fatalf("at +%v: %s expires %v", at, creds.AccessKeyID, creds.Expires)
			}
			served++
		default:
			var re *RefreshError
			if !errors.As(err, &re) || !errors.Is(err, errSTSDown) || !re.Expired.Equal(expiry) {
				t.Fatalf("at +%v, after expiry: %v; want a RefreshError wrapping the provider's", at, err)
			}
			failed++
		}
	}
	// 5 minutes of mandatory window, then 10 expired, with one attempt
	// every 30 s: 30 attempts after the first success.
	if got := p.calls.Load(); got != 1+30 {
		t.Errorf("provider calls = %d; want 31", got)
	}
	if served != 60 || failed != 120 {
		t.Errorf("served %d, failed %d; want 60 and 120", served, failed)
	}
	if !strings.Contains(logs.String(), "serving the cached credentials until they expire") {
		t.Errorf("no static-stability warning in the logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "SECRET") || strings.Contains(logs.String(), "TOKEN-") {
		t.Errorf("a secret reached the logs:\n%s", logs.String())
	}
}

// TestBackoffSchedule: with no valid credentials and a failing provider,
// the provider is called once per backoff step, at the step, however many
// callers come.
func TestBackoffSchedule(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	p.setFail(errSTSDown)
	const r = 0.75
	c, _ := newTestCache(t, clk, p, func(o *Options) {
		o.MinBackoff, o.MaxBackoff = time.Second, time.Minute
		o.Rand = fixedRand(r)
	})
	bo := c.in.backoff
	burst := func(wantCalls int64) {
		t.Helper()
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.Retrieve(context.Background())
				if !errors.Is(err, errSTSDown) {
					t.Errorf("Retrieve: %v; want the provider's error", err)
				}
			}()
		}
		wg.Wait()
		if got := p.calls.Load(); got != wantCalls {
			t.Fatalf("at +%v: provider calls = %d; want %d", clk.Now().Sub(t0), got, wantCalls)
		}
	}
	next := t0
	for k := 0; k < 12; k++ {
		if k > 0 {
			clk.Set(next.Add(-time.Millisecond))
			burst(int64(k))
		}
		clk.Set(next)
		burst(int64(k + 1))
		d := max(time.Duration(r*float64(bo.Ceiling(k))), bo.Min)
		next = next.Add(d)
		_, err := c.Retrieve(context.Background())
		var re *RefreshError
		if !errors.As(err, &re) || !re.NextAttempt.Equal(next) || re.Failures != k+1 {
			t.Fatalf("step %d: %v; want next attempt at %v", k, err, next)
		}
	}
	t.Logf("12 attempts over %v for 2,300 calls; steps capped at %v", next.Sub(t0), bo.Max)
}

func TestInvalidate(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, _ := newTestCache(t, clk, p)
	mustRetrieve(t, c)
	c.Invalidate()
	if got := mustRetrieve(t, c); got.AccessKeyID != "AKID2" {
		t.Errorf("after Invalidate: %s; want new credentials", got.AccessKeyID)
	}
	if got := retrieveNow(t, c); got.AccessKeyID != "AKID2" {
		t.Errorf("then: %s", got.AccessKeyID)
	}

	// Invalidate keeps the failure backoff: no storm on a failing provider.
	p.setFail(errSTSDown)
	c.Invalidate()
	if _, err := c.Retrieve(context.Background()); !errors.Is(err, errSTSDown) {
		t.Fatalf("Retrieve: %v", err)
	}
	for i := 0; i < 10; i++ {
		c.Invalidate()
		_, _ = c.Retrieve(context.Background())
	}
	if got := p.calls.Load(); got != 3 {
		t.Errorf("provider calls = %d; want 3", got)
	}
}

func TestRefreshTimeout(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.RefreshTimeout = 30 * time.Second })
	release := p.block()
	defer release()
	p.called = make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Retrieve(context.Background())
		errc <- err
	}()
	<-p.called
	if err := clk.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	err := <-errc
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Retrieve: %v; want context.DeadlineExceeded", err)
	}
	if ev := evs.next(t); ev.ErrorClass != "timeout" {
		t.Errorf("error class %q; want timeout", ev.ErrorClass)
	}
}

// TestRefreshTimeoutDerivedContext: on a fake clock, the contexts a
// provider derives from the refresh's (as the STS client does for each
// request) end as they would on the wall clock: with
// context.DeadlineExceeded after the refresh timeout, with
// context.Canceled after Close.
func TestRefreshTimeoutDerivedContext(t *testing.T) {
	for _, tt := range []struct {
		name  string
		end   func(clk *clock.Fake, c *Cache)
		want  error // the provider's error, in the event
		ret   error // what the waiting caller gets
		class string
	}{
		{"timeout", func(clk *clock.Fake, _ *Cache) { clk.Advance(30 * time.Second) }, context.DeadlineExceeded, context.DeadlineExceeded, "timeout"},
		{"Close", func(_ *clock.Fake, c *Cache) { go c.Close() }, context.Canceled, ErrClosed, "canceled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			called := make(chan struct{})
			p := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
				req, cancel := context.WithCancel(ctx)
				defer cancel()
				close(called)
				<-req.Done()
				return aws.Credentials{}, fmt.Errorf("test provider: %w", req.Err())
			})
			c, evs := newTestCache(t, clk, p, func(o *Options) { o.RefreshTimeout = 30 * time.Second })
			errc := make(chan error, 1)
			go func() {
				_, err := c.Retrieve(context.Background())
				errc <- err
			}()
			<-called
			tt.end(clk, c)
			if err := <-errc; !errors.Is(err, tt.ret) {
				t.Fatalf("Retrieve: %v; want %v", err, tt.ret)
			}
			if ev := evs.next(t); ev.ErrorClass != tt.class || !errors.Is(ev.Err, tt.want) {
				t.Errorf("event error %v, class %q; want %v, %q", ev.Err, ev.ErrorClass, tt.want, tt.class)
			}
		})
	}
}

func TestUnusableCredentials(t *testing.T) {
	clk := clock.NewFake(t0)
	tests := []struct {
		name  string
		creds aws.Credentials
	}{
		{"no keys", aws.Credentials{CanExpire: true, Expires: t0.Add(time.Hour)}},
		{"expired", aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", CanExpire: true, Expires: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return tt.creds, nil })
			c, evs := newTestCache(t, clk, p)
			_, err := c.Retrieve(context.Background())
			if !errors.Is(err, errInvalidCredentials) {
				t.Fatalf("Retrieve: %v", err)
			}
			if ev := evs.next(t); ev.ErrorClass != "invalid_credentials" {
				t.Errorf("error class %q", ev.ErrorClass)
			}
		})
	}
}

func TestCredentialsThatCannotExpire(t *testing.T) {
	clk := clock.NewFake(t0)
	static := credentials.NewStaticCredentialsProvider("AKIDSTATIC", "SECRET-static", "")
	calls := 0
	p := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		calls++
		return static.Retrieve(ctx)
	})
	c, _ := newTestCache(t, clk, p)
	mustRetrieve(t, c)
	clk.Advance(100 * 365 * 24 * time.Hour)
	if got := retrieveNow(t, c); got.AccessKeyID != "AKIDSTATIC" || got.CanExpire {
		t.Errorf("got %s, CanExpire %v", got.AccessKeyID, got.CanExpire)
	}
	if calls != 1 {
		t.Errorf("provider calls = %d; want 1", calls)
	}
}

// TestLifetimes runs five refresh cycles for lifetimes from 1 second to 12
// hours, calling Retrieve at each refresh moment: every refresh happens in
// the background, before the mandatory window, and no caller ever waits.
func TestLifetimes(t *testing.T) {
	for _, lt := range []time.Duration{time.Second, 15 * time.Minute, time.Hour, 12 * time.Hour} {
		t.Run(lt.String(), func(t *testing.T) {
			clk := clock.NewFake(t0)
			p := newTestProvider(clk, lt)
			r := rand.New(rand.NewPCG(7, 7))
			c, evs := newTestCache(t, clk, p, func(o *Options) { o.Rand = r.Float64 })
			mustRetrieve(t, c)
			ev := evs.next(t)
			for i := 0; i < 5; i++ {
				_, mand := c.in.pol.windows(lt)
				if !ev.NextRefresh.Before(ev.Expires.Add(-mand)) {
					t.Fatalf("cycle %d: next refresh %v not before the mandatory window (%v)", i, ev.NextRefresh, ev.Expires.Add(-mand))
				}
				clk.Set(ev.NextRefresh)
				retrieveNow(t, c)
				ev = evs.next(t)
				if ev.Outcome != OutcomeFetched {
					t.Fatalf("cycle %d: %+v", i, ev)
				}
			}
			if n := c.in.waited.Load(); n != 1 {
				t.Errorf("callers that waited = %d; want 1 (the cold start)", n)
			}
		})
	}
}

// TestJitterSpreadsAFleet: caches started at the same moment pick spread
// refresh moments with jitter, and one moment without.
func TestJitterSpreadsAFleet(t *testing.T) {
	for _, tt := range []struct {
		name     string
		jitter   float64
		min, max time.Duration // bounds of the refresh moments from t0
		distinct bool
	}{
		{"default jitter", 0, time.Nanosecond, 50 * time.Minute, true},
		{"no jitter", NoJitter, 45 * time.Minute, 45 * time.Minute, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			seen := map[time.Time]bool{}
			lo, hi := t0.Add(24*time.Hour), t0
			for i := 0; i < 200; i++ {
				p := newTestProvider(clk, time.Hour)
				r := rand.New(rand.NewPCG(1, uint64(i)))
				c, evs := newTestCache(t, clk, p, func(o *Options) { o.Rand = r.Float64; o.Jitter = tt.jitter })
				mustRetrieve(t, c)
				at := evs.next(t).NextRefresh
				seen[at] = true
				lo, hi = earliest(lo, at), latest(hi, at)
			}
			if lo.Before(t0.Add(tt.min)) || hi.After(t0.Add(tt.max)) {
				t.Errorf("refresh moments in [+%v, +%v]; want within [+%v, +%v]", lo.Sub(t0), hi.Sub(t0), tt.min, tt.max)
			}
			if tt.distinct && (len(seen) < 190 || hi.Sub(lo) < 40*time.Minute) {
				t.Errorf("%d distinct refresh moments over %v; want them spread", len(seen), hi.Sub(lo))
			}
			if !tt.distinct && len(seen) != 1 {
				t.Errorf("%d distinct refresh moments; want 1", len(seen))
			}
		})
	}
}

// TestColdSpreadOncePerStart: the first refresh after a cold start, an
// Invalidate or a recovery from failures is pulled early (here, with Rand
// near 1, to moments after the start); the refreshes after it are not.
func TestColdSpreadOncePerStart(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p, func(o *Options) {
		o.Rand = fixedRand(0.999)
		o.MinBackoff, o.MaxBackoff = time.Second, time.Second
	})
	const early, steady = time.Minute, 45 * time.Minute
	fresh := func(ev RefreshEvent) time.Duration { return ev.NextRefresh.Sub(ev.Start) }
	next := func(what string) RefreshEvent {
		t.Helper()
		ev := evs.next(t)
		if ev.Outcome != OutcomeFetched {
			t.Fatalf("%s: %+v", what, ev)
		}
		return ev
	}

	mustRetrieve(t, c)
	if ev := next("cold start"); fresh(ev) > early {
		t.Errorf("cold start: first refresh %v after it; want it spread early (< %v)", fresh(ev), early)
	} else {
		clk.Set(ev.NextRefresh)
	}
	for i := 1; i <= 3; i++ {
		retrieveNow(t, c)
		ev := next(fmt.Sprintf("refresh %d", i))
		if fresh(ev) < steady {
			t.Errorf("refresh %d: next refresh %v after it; want a steady cycle (≥ %v)", i, fresh(ev), steady)
		}
		clk.Set(ev.NextRefresh)
	}

	c.Invalidate()
	mustRetrieve(t, c)
	if ev := next("after Invalidate"); fresh(ev) > early {
		t.Errorf("after Invalidate: first refresh %v after it; want it spread early", fresh(ev))
	} else {
		clk.Set(ev.NextRefresh)
	}

	// A failed refresh, then a recovery: spread again.
	p.setFail(errSTSDown)
	retrieveNow(t, c)
	if ev := evs.next(t); ev.Outcome != OutcomeFailed {
		t.Fatalf("failure: %+v", ev)
	}
	p.setFail(nil)
	clk.Advance(time.Second)
	retrieveNow(t, c)
	if ev := next("recovery"); fresh(ev) > early {
		t.Errorf("after a recovery: first refresh %v after it; want it spread early", fresh(ev))
	}
}

func TestRetrieveAfterClose(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, _ := newTestCache(t, clk, p)
	mustRetrieve(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(58 * time.Minute))
	if got := retrieveNow(t, c); got.AccessKeyID != "AKID1" {
		t.Errorf("after Close, valid credentials: %s", got.AccessKeyID)
	}
	clk.Set(t0.Add(time.Hour))
	if _, err := c.Retrieve(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close and expiry: %v; want ErrClosed", err)
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("provider calls = %d; want 1", n)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestProviderSourcesAndIdentity(t *testing.T) {
	web := stscreds.NewWebIdentityRoleProvider(nil, "arn:aws:iam::123456789012:role/r", stscreds.IdentityTokenFile("/dev/null"))
	c := New(web)
	defer c.Close()
	got := c.ProviderSources()
	want := web.ProviderSources()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
		t.Errorf("ProviderSources = %v; want %v", got, want)
	}
	plain := New(aws.AnonymousCredentials{})
	defer plain.Close()
	if got := plain.ProviderSources(); got == nil || len(got) != 0 {
		t.Errorf("ProviderSources of a provider without sources = %#v; want empty", got)
	}
	if !aws.IsCredentialsProvider(c, (*stscreds.WebIdentityRoleProvider)(nil)) {
		t.Error("IsCredentialsProvider does not see the wrapped provider")
	}
	if !aws.IsCredentialsProvider(c, (*Cache)(nil)) {
		t.Error("IsCredentialsProvider does not see the Cache")
	}
	if aws.IsCredentialsProvider(c, (*credentials.StaticCredentialsProvider)(nil)) {
		t.Error("IsCredentialsProvider matches an unrelated provider")
	}
}

func TestNewPanics(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func()
	}{
		{"nil provider", func() { New(nil) }},
		{"store without key", func() {
			New(aws.AnonymousCredentials{}, func(o *Options) { o.Store = memStore{} })
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("New did not panic")
				}
			}()
			tt.fn()
		})
	}
}

func TestOptionsNormalize(t *testing.T) {
	o := Options{AdvisoryWindow: time.Minute, MandatoryWindow: time.Hour, Jitter: 7, MinBackoff: time.Minute, MaxBackoff: time.Second}
	o.normalize()
	if o.MandatoryWindow != time.Minute || o.Jitter != 1 || o.MaxBackoff != time.Minute || o.Logger == nil || o.Rand == nil {
		t.Errorf("normalized: %+v", o)
	}
	o = Options{Jitter: NoJitter}
	o.normalize()
	if o.Jitter != 0 || o.AdvisoryWindow != 0 || o.RefreshTimeout != defaultRefreshTimeout {
		t.Errorf("normalized: %+v", o)
	}
}

// memStore is a Store in memory, for tests of the Cache's use of a Store.
type memStore struct{ *memState }

type memState struct {
	mu      sync.Mutex // guards the fields below, not lock
	m       map[string]aws.Credentials
	loadErr error
	loads   int
	saves   int
	locks   int

	// onLock, when set, runs in Lock once the lock is held (it may save,
	// as another process would have while we waited); an error from it
	// releases the lock and is Lock's error.
	onLock func(ctx context.Context, s memStore) error
	// unlockErr is what unlock returns.
	unlockErr error

	lock sync.Mutex // the store's cross-"process" lock
}

func newMemStore() memStore { return memStore{&memState{m: map[string]aws.Credentials{}}} }

func (s memStore) Load(_ context.Context, key string) (aws.Credentials, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.loadErr != nil {
		return aws.Credentials{}, false, s.loadErr
	}
	c, ok := s.m[key]
	return c, ok, nil
}

func (s memStore) Save(_ context.Context, key string, creds aws.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	s.m[key] = creds
	return nil
}

func (s memStore) Lock(ctx context.Context, _ string) (func() error, error) {
	s.lock.Lock()
	s.mu.Lock()
	s.locks++
	onLock, unlockErr := s.onLock, s.unlockErr
	s.mu.Unlock()
	if onLock != nil {
		if err := onLock(ctx, s); err != nil {
			s.lock.Unlock()
			return nil, err
		}
	}
	return func() error { s.lock.Unlock(); return unlockErr }, nil
}

// counts returns how many times Load, Lock and Save were called.
func (s memStore) counts() (loads, locks, saves int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads, s.locks, s.saves
}
