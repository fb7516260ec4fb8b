// Package cache puts an [aws.CredentialsProvider] behind a cache that never
// makes a caller wait for a refresh while the credentials are valid, never
// lets a crowd of callers storm the provider, and keeps serving valid
// credentials through provider outages.
//
// For credentials that expire at E, [Cache.Retrieve] serves them from memory
// until the advisory window before E (by default min(15 min, lifetime/4),
// jittered), then starts one background refresh and keeps serving them. In
// the mandatory window (by default min(5 min, lifetime/10)) callers wait for
// that refresh, each at most [Options.MaxWait]. While the provider fails,
// the cached credentials are served until E and the provider is retried
// with capped, jittered backoff; after E, Retrieve returns a [*RefreshError].
//
// Give a Cache to config.WithCredentialsProvider: the Expires it hands out
// is the moment it next wants to be asked, so the SDK's own
// aws.CredentialsCache, which wraps it, asks at the right time. A [Store]
// ([FileStore] on disk) shares credentials between processes; [Cache.Start]
// keeps them fresh in a daemon even when no call comes.
package cache

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/internal/flight"
)

// Cache is an [aws.CredentialsProvider] that caches and refreshes the
// credentials of another provider; see the package documentation for the
// policy. Create it with [New].
//
// A Cache is safe for concurrent use. Retrieve never holds a lock across a
// provider call: one refresh at a time runs in its own goroutine, and
// callers that must wait select on it and on their own ctx.
type Cache struct {
	cur atomic.Pointer[entry] // the credentials served; written under in.mu
	clk clock.Clock           // nil means the wall clock, read with time.Now
	in  *inner                // everything off the fast path
}

// inner holds the slow-path state of a Cache.
//
// The wrapped provider may hold static keys, and fmt prints unexported
// fields by reflection (with a bad verb such as %s of a Cache value, even
// through pointers), so the provider is kept behind a func, which fmt
// prints as an address whatever the verb; cached credentials sit behind the
// atomic pointer's unsafe.Pointer, likewise.
type inner struct {
	provider func() aws.CredentialsProvider
	opts     Options // normalized
	pol      policy
	backoff  backoff.Policy
	log      *slog.Logger
	tel      *instruments           // metrics and tracer
	flights  flight.Group[struct{}] // runs the refreshes, one at a time

	closeCtx context.Context    // done when Close is called
	closeFn  context.CancelFunc // cancels closeCtx
	wg       sync.WaitGroup     // the background loop

	eventMu sync.Mutex // held while logging and reporting events, to keep them in order

	waiting atomic.Int64 // callers now waiting for a refresh
	waited  atomic.Int64 // callers that ever waited for a refresh

	// onChange, set by tests only, is called after a caller starts or stops
	// waiting for a refresh and after a refresh ends, so that a test can
	// wait for such a state without polling.
	onChange atomic.Pointer[func()]

	mu           sync.Mutex             // guards the fields below and every write to Cache.cur
	inflight     *flight.Call[struct{}] // the refresh in flight; nil when none
	inflightAt   time.Time              // when the refresh in flight started
	inflightWarm bool                   // the refresh in flight started while valid credentials were cached: callers wait for it at most MaxWait
	gaveUpWarned *flight.Call[struct{}] // the last refresh a caller gave up waiting for, served the cached credentials, and warned of
	failures     int                    // consecutive failed attempts
	lastErr      error                  // the last failure; nil after a success
	nextAttempt  time.Time              // no provider call before it (failure backoff)
	lastLifetime time.Duration          // lifetime of the last credentials from the provider
	revoked      string                 // access key ID dropped by Invalidate, not reloaded from the store
	retired      string                 // access key ID of the credentials last dropped or replaced (see InvalidateIfUsed)
	events       []RefreshEvent         // refresh events not yet logged and reported
	started      bool                   // Start was called
	closed       bool                   // Close was called
}

// New returns a Cache in front of p, configured by optFns.
//
// New panics if p is nil, or if [Options.Store] is set without
// [Options.StoreKey] or [Options.StoreKeyFunc]: both are programming errors. Other out-of-range
// options are normalized (see [Options]).
func New(p aws.CredentialsProvider, optFns ...func(*Options)) *Cache {
	if p == nil {
		panic("cache: New called with a nil provider")
	}
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	o.normalize()
	if o.Store != nil && o.StoreKey == "" && o.StoreKeyFunc == nil {
		panic("cache: Options.Store is set but neither Options.StoreKey nor Options.StoreKeyFunc")
	}
	in := &inner{
		provider: func() aws.CredentialsProvider { return p },
		opts:     o,
		pol:      policy{advisory: o.AdvisoryWindow, mandatory: o.MandatoryWindow, jitter: o.Jitter},
		backoff:  backoff.Policy{Min: o.MinBackoff, Max: o.MaxBackoff, Rand: o.Rand},
		log:      o.Logger,
	}
	in.closeCtx, in.closeFn = context.WithCancel(context.Background())
	c := &Cache{in: in}
	if o.Clock != nil && o.Clock != clockutil.Real() {
		c.clk = o.Clock
	}
	in.flights.Timeout, in.flights.Clock = o.RefreshTimeout, c.clk
	in.tel = newInstruments(c, &o)
	return c
}

// now reads the cache's clock.
func (c *Cache) now() time.Time {
	if c.clk == nil {
		return time.Now()
	}
	return c.clk.Now()
}

// clock returns the cache's clock for timers.
func (c *Cache) clock() clock.Clock { return clockutil.OrReal(c.clk) }

// Retrieve returns valid credentials, fetching or refreshing them as the
// policy says (see the package documentation). The Expires of the returned
// credentials is when the Cache next wants to be asked, not their real
// expiry, and is never later than the real expiry: the start of the
// advisory window, or, while a refresh is in flight, a second away (never
// past the mandatory window), so that the SDK's wrapper serves its callers
// from memory during the refresh and takes the new credentials soon after.
//
// While the credentials are fresh, Retrieve is one atomic load and one time
// comparison. It blocks only when the cache has no valid credentials or they
// are in the mandatory window, and then waits for the refresh in flight
// (starting one if none is). For a refresh that started while valid
// credentials were cached it waits at most [Options.MaxWait], or until ctx
// is done if that comes first, and then returns the cached credentials if
// they are still valid, else an error matching [ErrRefreshInFlight]; the
// refresh goes on for the others. For a refresh that started without valid
// credentials (a cold start, after [Cache.Invalidate] or after the expiry)
// it waits until the refresh ends or ctx is done. A caller whose ctx ends
// first gets the cached credentials if they are still valid, else ctx's
// error. It returns a [*RefreshError] when no valid credentials can be had,
// and [ErrClosed] after [Cache.Close].
func (c *Cache) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if e := c.cur.Load(); e != nil {
		var now time.Time
		if c.clk == nil { // c.now(), by hand: it does not inline
			now = time.Now()
		} else {
			now = c.clk.Now()
		}
		if now.Before(e.refreshAt) {
			return e.creds, nil
		}
	}
	return c.retrieveSlow(ctx)
}

// retrieveSlow is Retrieve outside the fresh window.
func (c *Cache) retrieveSlow(ctx context.Context) (aws.Credentials, error) {
	in := c.in
	in.mu.Lock()
	now := c.now()
	e := c.cur.Load()
	if in.closed && in.inflight == nil {
		defer in.mu.Unlock()
		if e.valid(now) {
			return e.handout(now, in.nextAttempt, in.inflight != nil), nil
		}
		return aws.Credentials{}, ErrClosed
	}
	switch decide(now, e, in.nextAttempt, in.inflight != nil) {
	case actServe:
		creds := e.handout(now, in.nextAttempt, in.inflight != nil)
		in.mu.Unlock()
		in.tel.servedStale(ctx, now, e, staleFailed)
		return creds, nil
	case actServeRefresh:
		defer in.mu.Unlock()
		c.startLocked(ctx)
		return e.handout(now, in.nextAttempt, in.inflight != nil), nil
	case actFail:
		defer in.mu.Unlock()
		return aws.Credentials{}, c.failureLocked(e)
	}
	ch := c.startLocked(ctx)
	key := in.inflight
	// A refresh that started while valid credentials were cached is waited
	// for at most MaxWait (the slow path: a timer per waiting caller),
	// whatever the caller's ctx, so that a slow or hanging refresh holds no
	// caller while they are valid, nor after they expire under it. A refresh
	// started without them (a cold start) is waited for until it ends or
	// ctx is done.
	var maxWait <-chan time.Time
	if key != nil && in.inflightWarm {
		if in.opts.MaxWait < 0 { // NoWait
			creds, warn, err := c.stopWaitingLocked(now, e)
			in.mu.Unlock()
			if warn {
				c.warnServed(nil, e)
			}
			if err == nil {
				in.tel.servedStale(ctx, now, e, staleSlow)
			}
			return creds, err
		}
		t := c.clock().NewTimer(in.opts.MaxWait)
		defer t.Stop()
		maxWait = t.C()
	}
	in.mu.Unlock()

	in.waited.Add(1)
	in.waiting.Add(1)
	in.tel.waiters.Add(ctx, 1)
	in.changed()
wait:
	for {
		select {
		case <-ch:
			in.waiting.Add(-1)
			in.changed()
			break wait
		case <-ctx.Done():
			creds, err := c.gaveUp(ctx)
			in.waiting.Add(-1)
			in.changed()
			return creds, err
		case <-maxWait:
			in.mu.Lock()
			if in.inflight != key {
				// The refresh has just ended: its result is on its way.
				in.mu.Unlock()
				maxWait = nil
				continue
			}
			now := c.now()
			cur := c.cur.Load()
			creds, warn, err := c.stopWaitingLocked(now, cur)
			in.mu.Unlock()
			if warn {
				c.warnServed(nil, cur)
			}
			if err == nil {
				in.tel.servedStale(ctx, now, cur, staleSlow)
			}
			in.waiting.Add(-1)
			in.changed()
			return creds, err
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	now = c.now()
	cur := c.cur.Load()
	switch {
	case cur.valid(now):
		in.tel.servedStale(ctx, now, cur, staleFailed)
		return cur.handout(now, in.nextAttempt, in.inflight != nil), nil
	case in.closed:
		// A refresh cancelled by Close failed with context.Canceled:
		// what the caller needs to know is that the cache is closed.
		return aws.Credentials{}, ErrClosed
	case in.lastErr != nil:
		return aws.Credentials{}, c.failureLocked(cur)
	}
	// The refresh succeeded but the credentials expired or were
	// invalidated since: a caller racing with Invalidate.
	return aws.Credentials{}, errInvalidated
}

// gaveUp is what a caller gets when its ctx ends while it waits for a
// refresh: the cached credentials while they are still valid at that moment
// (static stability: a slow or hanging STS must not cost a caller valid
// credentials), else the ctx error. The refresh goes on for the others.
func (c *Cache) gaveUp(ctx context.Context) (aws.Credentials, error) {
	in := c.in
	in.mu.Lock()
	now := c.now()
	cur := c.cur.Load()
	if !cur.valid(now) {
		in.mu.Unlock()
		return aws.Credentials{}, fmt.Errorf("cache: gave up waiting for the credentials refresh: %w", ctx.Err())
	}
	creds, warn := c.keepServingLocked(now, cur)
	in.mu.Unlock()
	if warn {
		c.warnServed(ctx.Err(), cur)
	}
	in.tel.servedStale(ctx, now, cur, staleSlow)
	return creds, nil
}

// stopWaitingLocked is what a caller gets when it stops waiting for the
// refresh in flight, one that started while valid credentials were cached,
// because [Options.MaxWait] passed (at once with [NoWait]): the cached
// credentials cur while they are valid at now, with whether that caller
// must log the warning (see keepServingLocked), else an error matching
// [ErrRefreshInFlight]. in.mu must be held.
func (c *Cache) stopWaitingLocked(now time.Time, cur *entry) (aws.Credentials, bool, error) {
	if cur.valid(now) {
		creds, warn := c.keepServingLocked(now, cur)
		return creds, warn, nil
	}
	return aws.Credentials{}, false, c.inFlightErrorLocked(now, cur)
}

// inFlightErrorLocked returns the error of a caller that stops waiting for
// the refresh in flight when the cached credentials cur (nil after
// Invalidate) are no longer valid at now. It matches [ErrRefreshInFlight]
// and, when the refresh before this one failed, that failure; it says how
// long the refresh has been running and names no secret. in.mu must be
// held.
func (c *Cache) inFlightErrorLocked(now time.Time, cur *entry) error {
	in := c.in
	running := now.Sub(in.inflightAt).Round(time.Millisecond)
	since := in.inflightAt.UTC().Format(time.RFC3339)
	cached := "the cached credentials were invalidated"
	if cur != nil {
		cached = "the cached credentials expired at " + cur.expires.UTC().Format(time.RFC3339)
	}
	if in.lastErr == nil {
		return fmt.Errorf("%w: running for %s (since %s); %s", ErrRefreshInFlight, running, since, cached)
	}
	return fmt.Errorf("%w: running for %s (since %s); %s; the refresh before it failed (%d failed attempt(s) in a row): %w",
		ErrRefreshInFlight, running, since, cached, in.failures, in.lastErr)
}

// keepServingLocked returns the cached credentials cur, valid at now, to a
// caller that stops waiting for the refresh in flight (its ctx ended, or
// [Options.MaxWait] passed), and reports whether that caller must log the
// warning: the first caller to stop waiting during a refresh does, the
// others of the same refresh do not, so that a crowd of callers does not
// flood the log. in.mu must be held.
func (c *Cache) keepServingLocked(now time.Time, cur *entry) (aws.Credentials, bool) {
	in := c.in
	creds := cur.handout(now, in.nextAttempt, in.inflight != nil)
	warn := in.inflight != nil && in.inflight != in.gaveUpWarned
	if warn {
		in.gaveUpWarned = in.inflight
	}
	return creds, warn
}

// warnServed logs that a caller stopped waiting for the refresh and was
// served the cached credentials cur: because its ctx ended with ctxErr, or,
// when ctxErr is nil, because [Options.MaxWait] passed. It logs no
// credential value.
func (c *Cache) warnServed(ctxErr error, cur *entry) {
	if ctxErr != nil {
		c.in.log.Warn("cache: a caller stopped waiting for the credentials refresh; serving the cached credentials until they expire",
			slog.Any("error", ctxErr),
			slog.Time("expires", cur.expires))
		return
	}
	c.in.log.Warn("cache: the credentials refresh is taking longer than MaxWait; serving the cached credentials until they expire",
		slog.Duration("max_wait", max(c.in.opts.MaxWait, 0)),
		slog.Time("expires", cur.expires))
}

// changed calls the test hook onChange, if any.
func (in *inner) changed() {
	if fn := in.onChange.Load(); fn != nil {
		(*fn)()
	}
}

// failureLocked returns the error of a cache without valid credentials.
func (c *Cache) failureLocked(e *entry) error {
	in := c.in
	err := &RefreshError{Err: in.lastErr, Failures: in.failures, NextAttempt: in.nextAttempt}
	if e != nil && e.expires != farFuture {
		err.Expired = e.expires
	}
	return err
}

// Invalidate drops the cached credentials, for instance after AWS rejected
// them: the next Retrieve fetches new ones, and does not take the same
// credentials back from the Store. The failure backoff is kept, so that a
// caller invalidating in a loop cannot make the cache storm a failing
// provider. A refresh already in flight is not cancelled; its result is
// used.
func (c *Cache) Invalidate() {
	in := c.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if e := c.cur.Load(); e != nil {
		in.revoked = e.creds.AccessKeyID
		in.retired = e.creds.AccessKeyID
	}
	c.cur.Store(nil)
}

// ProviderSources returns the sources of the wrapped provider, so that the
// SDK's credential feature tracking (the User-Agent) stays right through
// the cache. It implements aws.CredentialProviderSource.
func (c *Cache) ProviderSources() []aws.CredentialSource {
	if s, ok := c.in.provider().(aws.CredentialProviderSource); ok {
		return s.ProviderSources()
	}
	return []aws.CredentialSource{}
}

// IsCredentialsProvider reports whether target is a *Cache or matches the
// wrapped provider, as aws.IsCredentialsProvider does through the SDK's own
// aws.CredentialsCache.
func (c *Cache) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	if c.foundBy(target) { // InvalidateIfUsed looking for c
		return true
	}
	if _, ok := target.(*Cache); ok {
		return true
	}
	return aws.IsCredentialsProvider(c.in.provider(), target)
}

// String describes the cache without any credential value.
func (c *Cache) String() string {
	if c == nil || c.in == nil {
		return "cache.Cache(nil)"
	}
	now := c.now()
	e := c.cur.Load()
	state := "empty"
	switch e.phase(now) {
	case phaseFresh:
		state = "fresh"
	case phaseAdvisory:
		state = "advisory"
	case phaseMandatory:
		state = "mandatory"
	default:
		if e != nil {
			state = "expired"
		}
	}
	return fmt.Sprintf("cache.Cache{state: %s, provider: %T}", state, c.in.provider())
}
