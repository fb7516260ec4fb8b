package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/clockutil"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLogger logs everything, Debug included, to buf as JSON.
func jsonLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type retrieveResult struct {
	creds aws.Credentials
	err   error
}

// retrieveAsync calls retrieve in a goroutine, with a generous real-time
// limit that only a bug reaches, and delivers its result.
func retrieveAsync(retrieve func(context.Context) (aws.Credentials, error)) <-chan retrieveResult {
	ch := make(chan retrieveResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		creds, err := retrieve(ctx)
		ch <- retrieveResult{creds, err}
	}()
	return ch
}

// waitTimers waits until clk holds at least n timers.
func waitTimers(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.WaitForTimers(ctx, n); err != nil {
		t.Fatalf("waiting for %d timers: %v", n, err)
	}
}

// receive waits for the result, failing the test after a real-time limit
// that only a bug reaches.
func receive(t *testing.T, res <-chan retrieveResult) retrieveResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Retrieve did not return within 10s")
		return retrieveResult{}
	}
}

// stillWaiting fails the test if the result has come. It cannot see a
// result that is on its way, so it never fails wrongly.
func stillWaiting(t *testing.T, res <-chan retrieveResult, what string) {
	t.Helper()
	select {
	case r := <-res:
		t.Fatalf("%s: Retrieve returned %q, %v; want it still waiting", what, r.creds.AccessKeyID, r.err)
	default:
	}
}

const maxWaitWarning = `"level":"WARN","msg":"cache: the credentials refresh is taking longer than MaxWait; serving the cached credentials until they expire"`

// TestMaxWait: in the mandatory window, with the refresh held, a caller
// whose ctx never ends is served the cached credentials (still valid, with
// the 1-second hold) once MaxWait has passed on the cache's clock, and the
// refresh goes on; one warning per refresh, however many callers.
func TestMaxWait(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	var logs syncBuffer
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.Logger = jsonLogger(&logs) })
	mustRetrieve(t, c)
	ev := evs.next(t)

	clk.Set(ev.Expires.Add(-4 * time.Minute)) // mandatory window
	release := p.block()
	defer release()
	p.called = make(chan struct{}, 1)
	for i := 1; i <= 3; i++ {
		res := retrieveAsync(func(context.Context) (aws.Credentials, error) {
			return c.Retrieve(context.Background()) // never ends, as the SDK's wrapper's
		})
		if i == 1 {
			<-p.called
		}
		waitTimers(t, clk, 2) // the refresh timeout and this caller's MaxWait
		clk.Advance(defaultMaxWait - time.Millisecond)
		stillWaiting(t, res, "before MaxWait")
		clk.Advance(time.Millisecond)
		r := receive(t, res)
		if r.err != nil || r.creds.AccessKeyID != "AKID1" {
			t.Fatalf("caller %d after MaxWait: %q, %v; want the cached AKID1", i, r.creds.AccessKeyID, r.err)
		}
		if want := clk.Now().Add(refreshingHold); !r.creds.Expires.Equal(want) {
			t.Errorf("caller %d: Expires %v; want now + the hold, %v", i, r.creds.Expires, want)
		}
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls = %d; want 2 (one refresh, still held)", n)
	}
	if got := strings.Count(logs.String(), maxWaitWarning); got != 1 {
		t.Errorf("%d MaxWait warnings for 3 callers of one refresh; want 1:\n%s", got, logs.String())
	}
	release()
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("refresh: %+v", ev)
	}
	if got := mustRetrieve(t, c); got.AccessKeyID != "AKID2" {
		t.Errorf("after the refresh: %q; want AKID2", got.AccessKeyID)
	}
	if strings.Contains(logs.String(), "SECRET") || strings.Contains(logs.String(), "TOKEN-") {
		t.Errorf("a secret reached the logs:\n%s", logs.String())
	}
}

// TestMaxWaitNoWait: with NoWait, a caller in the mandatory window is
// served the cached credentials at once and the refresh starts for the
// next callers.
func TestMaxWaitNoWait(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	var logs syncBuffer
	c, evs := newTestCache(t, clk, p, func(o *Options) {
		o.MaxWait = NoWait
		o.Logger = jsonLogger(&logs)
	})
	mustRetrieve(t, c)
	ev := evs.next(t)

	clk.Set(ev.Expires.Add(-4 * time.Minute))
	release := p.block()
	defer release()
	p.called = make(chan struct{}, 1)
	for range 2 {
		got := retrieveNow(t, c) // a done ctx: it must not wait at all
		if got.AccessKeyID != "AKID1" || !got.Expires.Equal(clk.Now().Add(refreshingHold)) {
			t.Fatalf("NoWait: %q expiring %v; want the cached AKID1 with the hold", got.AccessKeyID, got.Expires)
		}
	}
	<-p.called // the refresh started
	if n := c.in.waited.Load(); n != 1 {
		t.Errorf("callers that waited = %d; want 1 (the cold start)", n)
	}
	if got := strings.Count(logs.String(), maxWaitWarning); got != 1 {
		t.Errorf("%d warnings; want 1:\n%s", got, logs.String())
	}
	release()
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("refresh: %+v", ev)
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls = %d; want 2", n)
	}
}

// retrieveForever calls retrieve in a goroutine with a ctx that never
// ends, as the SDK's aws.CredentialsCache passes, and delivers its result.
// In a synctest bubble nothing but the code under test can end the wait.
func retrieveForever(retrieve func(context.Context) (aws.Credentials, error)) <-chan retrieveResult {
	ch := make(chan retrieveResult, 1)
	go func() {
		creds, err := retrieve(context.Background())
		ch <- retrieveResult{creds, err}
	}()
	return ch
}

// settled waits until every other goroutine of the synctest bubble is
// blocked, and then returns the result if it has come.
func settled(res <-chan retrieveResult) (retrieveResult, bool) {
	synctest.Wait()
	select {
	case r := <-res:
		return r, true
	default:
		return retrieveResult{}, false
	}
}

// sleepUntil sleeps until at, on the synctest bubble's fake clock.
func sleepUntil(at time.Time) { time.Sleep(time.Until(at)) }

// hungSince is how long before the expiry the hung refresh of
// TestMaxWaitAroundExpiry starts: in the mandatory window, less than
// RefreshTimeout before the expiry, so it hangs from before the expiry to
// after it.
const hungSince = 10 * time.Second

// TestMaxWaitAroundExpiry: a refresh that started while valid credentials
// were cached hangs from before their expiry to after it. A caller that
// comes shortly before the expiry, or shortly after it, waits for that
// refresh at most MaxWait (with NoWait, not at all), whatever its ctx; if
// the credentials are still valid then, it is served them; if they have
// expired, it gets an error matching ErrRefreshInFlight (and the previous
// refresh's error, if any) that says how long the refresh has run. A
// refresh that ends within MaxWait gives its credentials.
//
// It runs in a synctest bubble on the wall clock, which the bubble fakes:
// the caller still waiting at MaxWait − 1 ms and done at MaxWait is exact.
func TestMaxWaitAroundExpiry(t *testing.T) {
	for _, tt := range []struct {
		name         string
		maxWait      time.Duration // Options.MaxWait
		failedBefore bool          // a refresh failed before the one that hangs
		invalidate   bool          // Invalidate is called just before the caller comes
		arrive       time.Duration // when the caller comes, from the expiry (negative: before)
		endAfter     time.Duration // when set, the refresh ends this long after the caller came
		wait         time.Duration // how long the caller waits
		want         string        // the access key ID it gets; "" for the in-flight error
	}{
		{name: "0.5s before expiry", arrive: -500 * time.Millisecond, wait: defaultMaxWait},
		{name: "0.1s after expiry", arrive: 100 * time.Millisecond, wait: defaultMaxWait},
		{name: "0.1s after expiry after a failed refresh", failedBefore: true, arrive: 100 * time.Millisecond, wait: defaultMaxWait},
		{name: "MaxWait 5s 0.1s after expiry", maxWait: 5 * time.Second, arrive: 100 * time.Millisecond, wait: 5 * time.Second},
		{name: "0.1s after expiry the refresh ends meanwhile", arrive: 100 * time.Millisecond, endAfter: 500 * time.Millisecond, wait: 500 * time.Millisecond, want: "AKID2"},
		{name: "5s before expiry valid at MaxWait", arrive: -5 * time.Second, wait: defaultMaxWait, want: "AKID1"},
		{name: "after Invalidate 5s before expiry", invalidate: true, arrive: -5 * time.Second, wait: defaultMaxWait},
		{name: "NoWait 0.5s before expiry", maxWait: NoWait, arrive: -500 * time.Millisecond, want: "AKID1"},
		{name: "NoWait 0.1s after expiry", maxWait: NoWait, arrive: 100 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newTestProvider(clockutil.Real(), time.Hour)
				var logs syncBuffer
				c := New(p, func(o *Options) {
					o.MaxWait = tt.maxWait
					o.Rand = fixedRand(0)
					o.Logger = jsonLogger(&logs)
				})
				defer c.Close()
				mustRetrieve(t, c) // cold start: AKID1
				expires := c.cur.Load().expires
				maxWait := max(c.in.opts.MaxWait, 0)

				if tt.failedBefore {
					sleepUntil(expires.Add(-2 * hungSince))
					p.setFail(errSTSDown)
					if got := mustRetrieve(t, c); got.AccessKeyID != "AKID1" {
						t.Fatalf("with the provider failing: %q; want the cached AKID1", got.AccessKeyID)
					}
					synctest.Wait() // the failed refresh has ended
					p.setFail(nil)
				}

				// The refresh that hangs starts before the expiry; the
				// caller that starts it is served the cached credentials
				// after MaxWait.
				sleepUntil(expires.Add(-hungSince))
				release := p.block()
				defer release()
				res := retrieveForever(c.Retrieve)
				time.Sleep(maxWait)
				if r, ok := settled(res); !ok || r.err != nil || r.creds.AccessKeyID != "AKID1" {
					t.Fatalf("caller in the mandatory window after MaxWait: %q, %v (returned: %v); want the cached AKID1", r.creds.AccessKeyID, r.err, ok)
				}
				calls := p.calls.Load()

				sleepUntil(expires.Add(tt.arrive))
				if tt.invalidate {
					c.Invalidate()
				}
				res = retrieveForever(c.Retrieve)
				if tt.wait > 0 {
					time.Sleep(tt.wait - time.Millisecond)
					if r, ok := settled(res); ok {
						t.Fatalf("the caller returned %q, %v before %v; want it to wait %v", r.creds.AccessKeyID, r.err, tt.wait-time.Millisecond, tt.wait)
					}
					time.Sleep(time.Millisecond)
				}
				if tt.endAfter > 0 {
					release()
				}
				r, ok := settled(res)
				if !ok {
					t.Fatalf("the caller came %v from the expiry and still waits %v later for a refresh that started %v before the expiry; want it to wait at most %v", tt.arrive, tt.wait, hungSince, tt.wait)
				}
				if tt.want != "" {
					if r.err != nil || r.creds.AccessKeyID != tt.want {
						t.Fatalf("the caller got %q, %v; want %s", r.creds.AccessKeyID, r.err, tt.want)
					}
				} else {
					if !errors.Is(r.err, ErrRefreshInFlight) {
						t.Fatalf("the caller got %q, %v; want an error matching ErrRefreshInFlight", r.creds.AccessKeyID, r.err)
					}
					if r.creds.HasKeys() {
						t.Errorf("credentials returned with the error: %q", r.creds.AccessKeyID)
					}
					t.Logf("error: %v", r.err)
					running := hungSince + tt.arrive + tt.wait
					cached := "expired at " + expires.UTC().Format(time.RFC3339)
					if tt.invalidate {
						cached = "the cached credentials were invalidated"
					}
					for _, want := range []string{"running for " + running.String(), cached} {
						if !strings.Contains(r.err.Error(), want) {
							t.Errorf("error %q does not say %q", r.err, want)
						}
					}
					if got := errors.Is(r.err, errSTSDown); got != tt.failedBefore {
						t.Errorf("error %q matches the previous refresh's error: %v; want %v", r.err, got, tt.failedBefore)
					}
					if s := r.err.Error(); strings.Contains(s, "SECRET") || strings.Contains(s, "TOKEN-") {
						t.Errorf("a secret reached the error: %q", s)
					}
				}
				if n := p.calls.Load(); n != calls {
					t.Errorf("provider calls = %d; want %d: the caller joined the refresh in flight", n, calls)
				}

				release()
				synctest.Wait()
				want := fmt.Sprintf("AKID%d", calls)
				if got := mustRetrieve(t, c); got.AccessKeyID != want {
					t.Errorf("after the refresh: %q; want %s", got.AccessKeyID, want)
				}
				if strings.Contains(logs.String(), "SECRET") || strings.Contains(logs.String(), "TOKEN-") {
					t.Errorf("a secret reached the logs:\n%s", logs.String())
				}
			})
		})
	}
}

// TestMaxWaitNotForAColdRefresh: a refresh that started without valid
// credentials (a cold start, a refresh started after the expiry, a refresh
// after Invalidate) is the only way to credentials: callers wait for it,
// whatever MaxWait (NoWait included), until it ends or their ctx is done,
// here 50 s (less than RefreshTimeout) with a ctx that never ends.
func TestMaxWaitNotForAColdRefresh(t *testing.T) {
	for _, tt := range []struct {
		name    string
		maxWait time.Duration
		setup   func(c *Cache) // before the provider hangs; nil: a cold start
		want    string
	}{
		{name: "cold start", want: "AKID1"},
		{name: "cold start NoWait", maxWait: NoWait, want: "AKID1"},
		{name: "refresh started after expiry", setup: expire, want: "AKID2"},
		{name: "refresh started after expiry NoWait", maxWait: NoWait, setup: expire, want: "AKID2"},
		{name: "after Invalidate", setup: (*Cache).Invalidate, want: "AKID2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newTestProvider(clockutil.Real(), time.Hour)
				c := New(p, func(o *Options) {
					o.MaxWait = tt.maxWait
					o.Rand = fixedRand(0)
				})
				defer c.Close()
				if tt.setup != nil {
					mustRetrieve(t, c)
					tt.setup(c)
				}
				release := p.block()
				defer release()
				res := retrieveForever(c.Retrieve)
				time.Sleep(50 * time.Second)
				if r, ok := settled(res); ok {
					t.Fatalf("Retrieve returned %q, %v while the refresh hangs; want it to wait", r.creds.AccessKeyID, r.err)
				}
				release()
				r, ok := settled(res)
				if !ok || r.err != nil || r.creds.AccessKeyID != tt.want {
					t.Fatalf("after the refresh: %q, %v (returned: %v); want %s", r.creds.AccessKeyID, r.err, ok, tt.want)
				}
			})
		})
	}
}

// expire sleeps until a second after c's credentials expire, in a synctest
// bubble.
func expire(c *Cache) { sleepUntil(c.cur.Load().expires.Add(time.Second)) }

// TestMaxWaitAroundExpiryThroughSDK: through config.LoadDefaultConfig(...,
// config.WithCredentialsProvider(c)), whose aws.CredentialsCache calls the
// Cache with a ctx that never ends, an SDK Retrieve 0.5 s before or 0.1 s
// after the expiry, while a refresh started before it hangs, returns after
// MaxWait with an error matching ErrRefreshInFlight, and the next SDK call
// after the refresh gets the new credentials.
//
// In a synctest bubble the SDK's wrapper and the Cache read the same (fake)
// wall clock, so the wrapper keeps the credentials it holds until the
// Expires the Cache handed out, as in production.
func TestMaxWaitAroundExpiryThroughSDK(t *testing.T) {
	for _, arrive := range []time.Duration{-500 * time.Millisecond, 100 * time.Millisecond} {
		t.Run(fmt.Sprintf("arrive %v", arrive), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newTestProvider(clockutil.Real(), time.Hour)
				c := New(p, func(o *Options) { o.Rand = fixedRand(0) })
				defer c.Close()
				cfg := loadConfig(t, c)
				if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
					t.Fatal(err)
				}
				expires := c.cur.Load().expires

				sleepUntil(expires.Add(-hungSince))
				release := p.block()
				defer release()
				res := retrieveForever(cfg.Credentials.Retrieve)
				time.Sleep(defaultMaxWait)
				if r, ok := settled(res); !ok || r.err != nil || r.creds.AccessKeyID != "AKID1" {
					t.Fatalf("SDK call in the mandatory window after MaxWait: %q, %v (returned: %v); want the cached AKID1", r.creds.AccessKeyID, r.err, ok)
				}

				sleepUntil(expires.Add(arrive))
				res = retrieveForever(cfg.Credentials.Retrieve)
				time.Sleep(defaultMaxWait - time.Millisecond)
				if r, ok := settled(res); ok {
					t.Fatalf("SDK call returned %q, %v before MaxWait", r.creds.AccessKeyID, r.err)
				}
				time.Sleep(time.Millisecond)
				r, ok := settled(res)
				if !ok {
					t.Fatalf("SDK call %v from the expiry still waits after MaxWait for a refresh hung since %v before it", arrive, hungSince)
				}
				if !errors.Is(r.err, ErrRefreshInFlight) {
					t.Fatalf("SDK call: %q, %v; want an error matching ErrRefreshInFlight", r.creds.AccessKeyID, r.err)
				}

				release()
				synctest.Wait()
				creds, err := cfg.Credentials.Retrieve(context.Background())
				if err != nil || creds.AccessKeyID != "AKID2" {
					t.Fatalf("after the refresh the SDK got %q, %v; want AKID2", creds.AccessKeyID, err)
				}
				if n := p.calls.Load(); n != 2 {
					t.Errorf("provider calls = %d; want 2", n)
				}
			})
		})
	}
}

// TestMaxWaitThroughSDK: through config.LoadDefaultConfig(...,
// config.WithCredentialsProvider(c)), whose aws.CredentialsCache calls the
// Cache with a ctx that never ends, an SDK Retrieve in the mandatory window
// with a hung refresh returns the cached credentials after MaxWait.
//
// The fake clock runs two days behind the wall clock, so the SDK's wrapper
// (which compares Expires with the wall clock) calls the Cache on every
// Retrieve.
func TestMaxWaitThroughSDK(t *testing.T) {
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	cfg := loadConfig(t, c)
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := evs.next(t)

	clk.Set(ev.Expires.Add(-4 * time.Minute)) // mandatory window
	release := p.block()
	defer release()
	p.called = make(chan struct{}, 1)
	res := retrieveAsync(cfg.Credentials.Retrieve)
	<-p.called
	waitTimers(t, clk, 2) // the refresh timeout and the SDK call's MaxWait
	clk.Advance(defaultMaxWait)
	r := receive(t, res)
	if r.err != nil || r.creds.AccessKeyID != "AKID1" {
		t.Fatalf("SDK Retrieve with the refresh hung: %q, %v; want the cached AKID1 after MaxWait", r.creds.AccessKeyID, r.err)
	}
	if !r.creds.Expires.Before(ev.Expires) {
		t.Errorf("SDK got Expires %v; want before the real expiry %v", r.creds.Expires, ev.Expires)
	}
	release()
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("refresh: %+v", ev)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID2" {
		t.Fatalf("after the refresh the SDK got %q, %v; want AKID2", creds.AccessKeyID, err)
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls = %d; want 2", n)
	}
}

// TestCloseWhileWaiting: a caller waiting for a refresh that Close cancels
// gets ErrClosed, not a RefreshError, and the cancelled refresh is logged
// at Debug, not Error.
func TestCloseWhileWaiting(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	var logs syncBuffer
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.Logger = jsonLogger(&logs) })
	sig := watch(c)
	release := p.block()
	defer release()
	res := retrieveAsync(c.Retrieve)
	waitFor(t, "the caller to wait", sig, func() bool { return c.in.waiting.Load() == 1 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := receive(t, res)
	var re *RefreshError
	if !errors.Is(r.err, ErrClosed) || errors.As(r.err, &re) {
		t.Fatalf("waiting caller after Close: %v; want ErrClosed", r.err)
	}
	ev := evs.next(t)
	if ev.Outcome != OutcomeFailed || ev.ErrorClass != "canceled" || !errors.Is(ev.Err, ErrClosed) || !errors.Is(ev.Err, context.Canceled) {
		t.Errorf("event: %+v; want a failure of class canceled matching ErrClosed and context.Canceled", ev)
	}
	text := logs.String()
	if strings.Contains(text, `"level":"ERROR"`) {
		t.Errorf("a refresh cancelled by Close was logged at Error:\n%s", text)
	}
	if !strings.Contains(text, `"level":"DEBUG","msg":"cache: credentials refresh cancelled by Close"`) {
		t.Errorf("no Debug record of the cancelled refresh:\n%s", text)
	}
}
