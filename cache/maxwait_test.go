package cache

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/clock"
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
		clk.Advance(DefaultMaxWait - time.Millisecond)
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

// TestMaxWaitWithoutValidCredentials: MaxWait does not apply once the
// cached credentials are no longer valid: past expiry the caller waits for
// the refresh (no MaxWait timer), and a caller whose credentials expire
// during its MaxWait waits on.
func TestMaxWaitWithoutValidCredentials(t *testing.T) {
	for _, tt := range []struct {
		name   string
		left   time.Duration // before expiry, when the caller comes
		timers int           // the refresh timeout, and a MaxWait timer when valid
	}{
		{"expired", -time.Second, 1},
		{"expires during MaxWait", DefaultMaxWait / 2, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			p := newTestProvider(clk, time.Hour)
			c, evs := newTestCache(t, clk, p)
			sig := watch(c)
			mustRetrieve(t, c)
			ev := evs.next(t)

			clk.Set(ev.Expires.Add(-tt.left))
			release := p.block()
			defer release()
			res := retrieveAsync(c.Retrieve)
			waitFor(t, "the caller to wait", sig, func() bool { return c.in.waiting.Load() == 1 })
			waitTimers(t, clk, tt.timers)
			if n := clk.Timers(); n != tt.timers {
				t.Fatalf("%d timers; want %d", n, tt.timers)
			}
			clk.Advance(5 * time.Second)
			stillWaiting(t, res, "without valid credentials")
			release()
			r := receive(t, res)
			if r.err != nil || r.creds.AccessKeyID != "AKID2" {
				t.Fatalf("Retrieve: %q, %v; want the new AKID2", r.creds.AccessKeyID, r.err)
			}
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
	clk.Advance(DefaultMaxWait)
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
