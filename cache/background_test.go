package cache

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitForSleep waits until the only timer on clk is the background
// refresher's, due at want or, when want is further away than the
// refresher's longest sleep, at the end of that sleep (a refresh's timeout
// timer may linger a moment after its event).
func waitForSleep(t *testing.T, clk *notifyClock, want time.Time) {
	t.Helper()
	if limit := clk.Now().Add(maxSleep); want.After(limit) {
		want = limit
	}
	waitFor(t, "the refresher to sleep until "+want.String(), clk.sig, func() bool {
		next, ok := clk.NextDeadline()
		return ok && clk.Timers() == 1 && next.Equal(want)
	})
}

func TestBackgroundRefresh(t *testing.T) {
	clk := newNotifyClock(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.MinBackoff, o.MaxBackoff = 10*time.Second, time.Minute })
	c.Start(context.Background())

	// It fetches at once, without any Retrieve.
	ev := evs.next(t)
	if ev.Outcome != OutcomeFetched {
		t.Fatalf("prefetch: %+v", ev)
	}
	if got := retrieveNow(t, c); got.AccessKeyID != "AKID1" {
		t.Fatalf("Retrieve: %s", got.AccessKeyID)
	}

	// Then at each refresh moment, with no Retrieve at all.
	for i := 2; i <= 4; i++ {
		waitForSleep(t, clk, ev.NextRefresh)
		clk.Set(ev.NextRefresh)
		ev = evs.next(t)
		if ev.Outcome != OutcomeFetched {
			t.Fatalf("refresh %d: %+v", i, ev)
		}
	}
	if got := retrieveNow(t, c); got.AccessKeyID != "AKID4" {
		t.Fatalf("Retrieve: %s; want AKID4", got.AccessKeyID)
	}

	// Failures are retried on the backoff schedule.
	p.setFail(errSTSDown)
	waitForSleep(t, clk, ev.NextRefresh)
	clk.Set(ev.NextRefresh)
	for i := 1; i <= 3; i++ {
		ev = evs.next(t)
		if ev.Outcome != OutcomeFailed || !ev.Stale || ev.Failures != i {
			t.Fatalf("failure %d: %+v", i, ev)
		}
		if d := ev.NextRefresh.Sub(clk.Now()); d < 10*time.Second || d > 40*time.Second {
			t.Fatalf("failure %d: backoff %v out of [10s, 40s]", i, d)
		}
		waitForSleep(t, clk, ev.NextRefresh)
		if i == 3 {
			p.setFail(nil)
		}
		clk.Set(ev.NextRefresh)
	}
	if ev = evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("recovery: %+v", ev)
	}
	if n := c.in.waited.Load(); n != 0 {
		t.Errorf("callers that waited = %d; want 0", n)
	}
	calls := p.calls.Load()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour)
	if p.calls.Load() != calls {
		t.Error("the provider was called after Close")
	}
}

func TestBackgroundStopsWithCtx(t *testing.T) {
	clk := newNotifyClock(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	c.Start(ctx) // a second Start does nothing
	ev := evs.next(t)
	waitForSleep(t, clk, ev.NextRefresh)
	cancel()
	waitFor(t, "the refresher to stop", clk.sig, func() bool { return clk.Timers() == 0 })
	clk.Set(ev.NextRefresh.Add(time.Minute))
	if n := p.calls.Load(); n != 1 {
		t.Errorf("provider calls = %d; want 1", n)
	}
	// Retrieve still refreshes on demand.
	retrieveNow(t, c)
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Errorf("on-demand refresh: %+v", ev)
	}
}

func TestCloseCancelsRefreshInFlight(t *testing.T) {
	clk := newNotifyClock(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	release := p.block()
	defer release()
	p.called = make(chan struct{}, 1)
	c.Start(context.Background())
	<-p.called
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	ctxErr := p.ctxErr
	p.mu.Unlock()
	if !errors.Is(ctxErr, context.Canceled) {
		t.Errorf("provider's ctx after Close: %v; want context.Canceled", ctxErr)
	}
	if ev := evs.next(t); ev.Outcome != OutcomeFailed || ev.ErrorClass != "canceled" {
		t.Errorf("event: %+v", ev)
	}
	c.Start(context.Background()) // after Close: nothing
	if _, err := c.Retrieve(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Retrieve after Close: %v; want ErrClosed", err)
	}
}

// TestBackgroundSleepsAtMostAMinute: a refresh planned 45 minutes away is
// waited for in sleeps of at most a minute, each followed by a new plan
// from the clock, so that after a suspend (the timer stops, the wall clock
// does not) the refresher is at most a minute late; the provider is called
// only when the plan falls due.
func TestBackgroundSleepsAtMostAMinute(t *testing.T) {
	clk := newNotifyClock(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	c.Start(context.Background())
	ev := evs.next(t)
	if d := ev.NextRefresh.Sub(clk.Now()); d < 40*time.Minute {
		t.Fatalf("refresh planned %v away; the test wants at least 40 min", d)
	}
	sleeps := 0
	for clk.Now().Before(ev.NextRefresh) {
		next := min(ev.NextRefresh.Sub(clk.Now()), time.Minute)
		waitForSleep(t, clk, clk.Now().Add(next))
		sleeps++
		if n := p.calls.Load(); n != 1 {
			t.Fatalf("after %d sleeps: provider calls = %d; want 1", sleeps, n)
		}
		clk.Advance(next)
	}
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("refresh: %+v", ev)
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls = %d; want 2", n)
	}
	if want := int(ev.NextRefresh.Sub(t0) / time.Minute); sleeps < want {
		t.Errorf("%d sleeps; want at least %d of at most a minute", sleeps, want)
	}

	// The clock jumps past the plan during a sleep (as the wall clock does
	// over a suspend): on waking the refresher plans again and refreshes
	// at once, once.
	ev = evs.all()[1]
	waitForSleep(t, clk, ev.NextRefresh)
	clk.Set(ev.NextRefresh.Add(10 * time.Minute))
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("refresh after the suspend: %+v", ev)
	}
	if n := p.calls.Load(); n != 3 {
		t.Errorf("provider calls = %d; want 3", n)
	}
}
