package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/internal/telemetry"
)

// startLocked starts a refresh, or joins the one in flight, and returns the
// channel that is closed at its end. in.mu must be held.
//
// A refresh it starts records when it started and whether valid
// credentials were cached then (see [Options.MaxWait]).
//
// After Close, with no refresh in flight, it starts none and returns a
// closed channel.
func (c *Cache) startLocked(ctx context.Context) <-chan struct{} {
	in := c.in
	if in.inflight != nil {
		return in.inflight.Done()
	}
	if in.closed {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	call, _ := in.flights.Start(ctx, func(ctx context.Context) (struct{}, error) {
		c.refresh(ctx)
		return struct{}{}, nil
	})
	in.inflight = call
	in.inflightAt = c.now()
	in.inflightWarm = c.cur.Load().valid(in.inflightAt)
	return call.Done()
}

// refresh runs one refresh attempt, in the goroutine of its flight, and
// puts its outcome in effect: the new entry, or the failure and its
// backoff. ctx carries the values of the caller that started it, not its
// cancellation, and ends after RefreshTimeout; Close cancels it too.
func (c *Cache) refresh(ctx context.Context) {
	in := c.in
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(in.closeCtx, cancel)
	defer stop()
	ctx, span := in.tel.tracer.StartSpan(ctx, "awsoidc.cache.refresh", telemetry.Kind(tracing.SpanKindInternal))

	in.mu.Lock()
	prev := c.cur.Load()
	revoked, last := in.revoked, in.lastLifetime
	in.mu.Unlock()

	start := c.now()
	creds, fromStore, err := c.fetch(ctx, prev, revoked, last)
	now := c.now()
	if err == nil && !fromStore {
		err = validate(creds, now)
	}
	if err != nil && ctx.Err() != nil && in.closeCtx.Err() != nil {
		// Close cancelled the refresh: not a provider failure.
		err = fmt.Errorf("%w: the refresh was cancelled: %w", ErrClosed, err)
	}

	in.mu.Lock()
	ev := RefreshEvent{Start: start, Duration: now.Sub(start)}
	if err != nil {
		cur := c.cur.Load()
		in.failures++
		in.lastErr = err
		in.nextAttempt = retryAt(now, c.backoffLocked(in.failures-1), in.backoff.Min, cur)
		ev.Outcome, ev.Err, ev.ErrorClass = OutcomeFailed, err, errorClass(err)
		ev.Failures, ev.NextRefresh = in.failures, in.nextAttempt
		if cur.valid(now) {
			ev.Stale, ev.Expires = true, cur.expires
		}
	} else {
		cur := c.cur.Load()
		var e *entry
		if fromStore {
			e = in.pol.plan(creds, now, storeLifetime(creds, now, last), in.opts.Rand(), 0, false)
			ev.Outcome = OutcomeLoaded
		} else {
			spread := in.failures > 0 || !cur.valid(now)
			lifetime := creds.Expires.Sub(now)
			e = in.pol.plan(creds, now, lifetime, in.opts.Rand(), in.opts.Rand(), spread)
			if creds.CanExpire {
				in.lastLifetime = lifetime
			}
			ev.Outcome = OutcomeFetched
		}
		if cur != nil && cur.creds.AccessKeyID != creds.AccessKeyID {
			in.retired = cur.creds.AccessKeyID
		}
		c.cur.Store(e)
		in.failures, in.lastErr, in.nextAttempt = 0, nil, time.Time{}
		if creds.AccessKeyID != in.revoked {
			in.revoked = ""
		}
		ev.Expires, ev.NextRefresh = e.expires, e.refreshAt
	}
	// The outcome and the end of the refresh take effect together, so that
	// a caller that sees the one (an OnRefresh hook included) sees the
	// other, and may start the next refresh at once.
	if in.inflight != nil {
		in.flights.Forget(in.inflight)
		in.inflight = nil
	}
	in.events = append(in.events, ev)
	in.mu.Unlock()
	in.tel.recordRefresh(ctx, ev)
	span.SetProperty(telemetry.KeyOutcome, ev.Outcome.String())
	telemetry.End(span, ev.ErrorClass, ev.Err)
	in.changed()
	c.flushEvents()
}

// flushEvents logs and reports the queued refresh events, in order, one
// at a time.
func (c *Cache) flushEvents() {
	in := c.in
	in.eventMu.Lock()
	defer in.eventMu.Unlock()
	for {
		in.mu.Lock()
		if len(in.events) == 0 {
			in.events = nil
			in.mu.Unlock()
			return
		}
		ev := in.events[0]
		in.events = in.events[1:]
		in.mu.Unlock()
		c.logEvent(ev)
		if fn := in.opts.OnRefresh; fn != nil {
			fn(ev)
		}
	}
}

// fetch gets credentials from the store, when one is set and holds fresh
// enough ones, or else from the provider, under the store's lock.
func (c *Cache) fetch(ctx context.Context, prev *entry, revoked string, last time.Duration) (creds aws.Credentials, fromStore bool, err error) {
	in := c.in
	st := in.opts.Store
	if st == nil {
		creds, err = in.provider().Retrieve(ctx)
		return creds, false, err
	}
	key := in.opts.StoreKey
	if fn := in.opts.StoreKeyFunc; fn != nil {
		if key, err = fn(ctx); err != nil {
			return aws.Credentials{}, false, err
		}
	}
	if creds, ok := c.load(ctx, key, prev, revoked, last); ok {
		return creds, true, nil
	}
	lockStart := c.now()
	unlock, err := st.Lock(ctx, key)
	in.tel.lockWait(ctx, c.now().Sub(lockStart), err)
	if err != nil {
		if ctx.Err() != nil {
			return aws.Credentials{}, false, fmt.Errorf("cache: waiting for the credentials store lock: %w", err)
		}
		in.log.Warn("cache: cannot lock the credentials store; calling the provider without it", slog.Any("error", err))
	} else {
		defer func() {
			if err := unlock(); err != nil {
				in.log.Warn("cache: cannot unlock the credentials store", slog.Any("error", err))
			}
		}()
		// Another process may have refreshed while we waited for the lock.
		if creds, ok := c.load(ctx, key, prev, revoked, last); ok {
			return creds, true, nil
		}
	}
	creds, err = in.provider().Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, false, err
	}
	if err := validate(creds, c.now()); err != nil {
		return aws.Credentials{}, false, err
	}
	if err := st.Save(ctx, key, creds); err != nil {
		in.log.Warn("cache: cannot save credentials to the store", slog.Any("error", err))
	}
	return creds, false, nil
}

// load returns the store's credentials under key when they may replace
// prev.
func (c *Cache) load(ctx context.Context, key string, prev *entry, revoked string, last time.Duration) (aws.Credentials, bool) {
	in := c.in
	creds, ok, err := in.opts.Store.Load(ctx, key)
	if err != nil {
		in.tel.storeLoad(ctx, "error")
		in.log.Warn("cache: cannot load credentials from the store", slog.Any("error", err))
		return aws.Credentials{}, false
	}
	now := c.now()
	if !ok || !in.pol.usableFromStore(creds, now, storeLifetime(creds, now, last), prev, revoked) {
		in.tel.storeLoad(ctx, "miss")
		return aws.Credentials{}, false
	}
	in.tel.storeLoad(ctx, "hit")
	return creds, true
}

// validate refuses credentials that cannot be served.
func validate(creds aws.Credentials, now time.Time) error {
	if !creds.HasKeys() {
		return fmt.Errorf("%w: no access key ID or secret access key", errInvalidCredentials)
	}
	if creds.CanExpire && !creds.Expires.After(now) {
		return fmt.Errorf("%w: they expired at %s (check the clock)", errInvalidCredentials, creds.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// backoffLocked returns the wait after failure number n (from 0): full
// jitter, but at least MinBackoff. in.mu must be held (it calls Rand).
func (c *Cache) backoffLocked(n int) time.Duration {
	return max(c.in.backoff.Delay(n), c.in.backoff.Min)
}

// logEvent logs a refresh attempt.
func (c *Cache) logEvent(ev RefreshEvent) {
	log := c.in.log
	ctx := context.Background()
	switch {
	case ev.Err == nil:
		log.Debug("cache: credentials refreshed",
			slog.String("outcome", ev.Outcome.String()),
			slog.Time("expires", ev.Expires),
			slog.Time("next_refresh", ev.NextRefresh),
			slog.Duration("duration", ev.Duration))
	case errors.Is(ev.Err, ErrClosed):
		log.Debug("cache: credentials refresh cancelled by Close",
			slog.Any("error", ev.Err),
			slog.Duration("duration", ev.Duration))
	case ev.Stale:
		log.Warn("cache: credentials refresh failed; serving the cached credentials until they expire",
			slog.Any("error", ev.Err),
			slog.String("error_class", ev.ErrorClass),
			slog.Int("failures", ev.Failures),
			slog.Time("expires", ev.Expires),
			slog.Time("next_attempt", ev.NextRefresh))
	default:
		log.Log(ctx, slog.LevelError, "cache: credentials refresh failed; no valid credentials",
			slog.Any("error", ev.Err),
			slog.String("error_class", ev.ErrorClass),
			slog.Int("failures", ev.Failures),
			slog.Time("next_attempt", ev.NextRefresh))
	}
}
