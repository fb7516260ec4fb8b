package cache

import (
	"context"
	"time"

	"github.com/awsoidc/awsoidc/internal/clockutil"
)

// Start runs a background refresher until ctx is done or [Cache.Close] is
// called, for daemons that must keep credentials fresh even when no
// Retrieve comes: it fetches credentials at once, then refreshes them at the
// start of each advisory window and retries failures on the backoff
// schedule, exactly as Retrieve would, sharing the same single refresh.
// Retrieve then finds fresh credentials on its fast path.
//
// The refresher sleeps at most a minute at a time and plans again on
// waking, so that after a suspend of the machine (when the timers stop but
// the wall clock does not) it refreshes within a minute of waking.
//
// Start returns at once. Calling it again, or after Close, does nothing. The
// goroutine it starts exits when ctx is done (a refresh in flight then runs
// on to its end or its timeout) or when Close returns.
func (c *Cache) Start(ctx context.Context) {
	in := c.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.started || in.closed {
		return
	}
	in.started = true
	in.wg.Add(1)
	go c.run(ctx)
}

// maxSleep caps each sleep of the background refresher, which then plans
// again from the clock: after a suspend of the machine it wakes at most
// this late.
const maxSleep = time.Minute

// run is the background refresher.
func (c *Cache) run(ctx context.Context) {
	in := c.in
	defer in.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(in.closeCtx, cancel)
	defer stop()

	clk := c.clock()
	for {
		in.mu.Lock()
		now := c.now()
		wake := nextWake(now, c.cur.Load(), in.nextAttempt)
		in.mu.Unlock()
		// The timer runs on monotonic time, which stops while the machine
		// sleeps, but wake is a wall-clock moment: after a suspend a long
		// sleep would end long after it. Short sleeps and a new plan after
		// each bound that lateness.
		d := wake.Sub(now)
		if err := clockutil.Sleep(ctx, clk, min(d, maxSleep)); err != nil {
			return
		}
		if d > maxSleep {
			continue
		}

		in.mu.Lock()
		now = c.now()
		e := c.cur.Load()
		if in.closed {
			in.mu.Unlock()
			return
		}
		if in.inflight == nil && (e.phase(now) == phaseFresh || now.Before(in.nextAttempt)) {
			in.mu.Unlock()
			continue // a refresh that Retrieve ran moved the deadline
		}
		done := c.startLocked(ctx)
		in.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
}

// Close stops the background refresher, cancels any refresh in flight and
// waits until every goroutine the cache started has returned. Afterwards
// Retrieve serves the cached credentials while they are valid, and returns
// [ErrClosed] once they are not; it starts no refresh. Close is idempotent
// and always returns nil; it implements io.Closer.
func (c *Cache) Close() error {
	in := c.in
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		in.wg.Wait()
		in.flights.Wait()
		return nil
	}
	in.closed = true
	in.mu.Unlock()
	in.closeFn()
	in.wg.Wait()
	in.flights.Wait()
	in.tel.stopExpiry()
	return nil
}
