package cache

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/clock"
)

// Defaults of [Options], stated in its field docs.
const (
	defaultMandatoryWindow = 5 * time.Minute
	defaultJitter          = 0.5
	defaultMinBackoff      = time.Second
	defaultMaxBackoff      = 5 * time.Minute
	defaultRefreshTimeout  = time.Minute
	defaultMaxWait         = time.Second
)

// NoWait, as [Options.MaxWait], makes callers never wait for a refresh that
// started while valid credentials were cached: they are served those at once
// while they are valid (in the mandatory window), and get an error matching
// [ErrRefreshInFlight] at once after they expired; the refresh runs for the
// next callers. A refresh started without valid credentials (a cold start)
// is still waited for.
const NoWait time.Duration = -1

// NoJitter, as [Options.Jitter], turns jitter off: every cache refreshes at
// the start of its advisory window, and a fleet started at once refreshes at
// once. It exists for tests and for comparisons; production code keeps the
// default.
const NoJitter = -1.0

// Options tune a [Cache]. The zero value of every field means its default;
// [New] normalizes out-of-range values rather than failing.
type Options struct {
	// AdvisoryWindow caps how long before the credentials expire the cache
	// starts refreshing them in the background, while it keeps serving them
	// at once. The window used for credentials that live for L is
	// min(AdvisoryWindow, L/4), so that 15-minute credentials do not sit in
	// a 15-minute window forever and the policy holds from 1-second to
	// 12-hour lifetimes. Zero (the default) takes the cap by lifetime, as
	// botocore and the Java SDK do since 2026: 5 minutes for L ≤ 20 min,
	// 15 minutes below 90 min, 1 hour from 90 min on (so a 12-hour session
	// rides out a one-hour STS outage).
	AdvisoryWindow time.Duration

	// MandatoryWindow caps how long before the credentials expire callers
	// stop being served the old credentials at once and wait for the
	// refresh, at most MaxWait (each may leave earlier through its own ctx,
	// and is then served the old credentials while still valid; see
	// MaxWait for what a caller gets once they expired). The window used is
	// min(MandatoryWindow, L/10), and never more than the advisory window.
	// Default 5 minutes.
	MandatoryWindow time.Duration

	// Jitter spreads refreshes so that a fleet does not call STS in step.
	// It is a fraction in [0, 1] of the advisory window, less the mandatory
	// window: each refresh starts at a uniformly random point of the first
	// Jitter of that span (for 1-hour credentials and the default 0.5,
	// between 15 and 10 minutes before expiry). Because that alone cannot
	// break up a fleet that fetched at the same moment (a deploy, or the
	// end of an STS outage) within one lifetime, the first refresh after a
	// cold start, an [Cache.Invalidate] or a recovery from failed refreshes
	// is instead drawn uniformly from the whole time until that point
	// (between the start and 45 to 50 minutes after it, for 1-hour
	// credentials), which is as long as one refresh cycle: the fleet's
	// refreshes are spread evenly over the cycle from the first hour on. It
	// costs at most one early refresh per start, made within moments of the
	// start by a few caches (about 2 % refresh in their first minute).
	//
	// Zero means the default, 0.5; [NoJitter] (any negative value) turns
	// jitter off; values above 1 are clamped to 1.
	Jitter float64

	// Rand returns uniform numbers in [0, 1) for the jitter and the
	// failure backoff. Nil means math/rand/v2's Float64. The cache calls
	// it with its internal lock held, so calls are never concurrent and
	// the sequence is deterministic for a deterministic source: a
	// simulation gives each cache its own seeded generator, such as
	// rand.New(rand.NewPCG(seed, uint64(i))).Float64.
	Rand func() float64

	// MinBackoff and MaxBackoff bound the wait between failed refreshes:
	// after the n-th consecutive failure (n from 0) the cache waits a
	// uniformly random time in [0, min(MaxBackoff, MinBackoff·2^n)] ("full
	// jitter", see internal/backoff), but at least MinBackoff, before it
	// calls the provider again, whatever the number of callers. While the
	// cached credentials are valid, the wait never steps over their last
	// chance, shortly before they expire (10 seconds, or a tenth of the
	// mandatory window when that is shorter), unless MinBackoff does: at
	// least one call is made between the last failure and the expiry.
	// Defaults 1 second and 5 minutes.
	MinBackoff time.Duration
	MaxBackoff time.Duration

	// RefreshTimeout bounds one refresh: the store lock, the provider call
	// and the store write. The refresh runs under
	// context.WithoutCancel(ctx) of the caller that started it plus this
	// timeout, measured on Clock, so that a caller that leaves does not
	// cancel the refresh the others wait for. Default 1 minute.
	RefreshTimeout time.Duration

	// MaxWait bounds how long a caller waits for a refresh in flight that
	// started while valid credentials were cached, measured on Clock from
	// the moment the caller starts waiting, whatever its ctx (including the
	// ctx without deadline that the SDK's aws.CredentialsCache passes).
	// Such a refresh is one started in the advisory or mandatory window,
	// and it may still be in flight after the credentials expired. If it
	// has not ended after MaxWait, the refresh goes on and the caller gets:
	//   - the cached credentials when they are still valid, their Expires
	//     a second away so that the SDK's wrapper asks again soon (a Warn is
	//     logged once per refresh, not per caller);
	//   - otherwise, when they expired (before the caller came or while it
	//     waited) or were invalidated, an error matching
	//     [ErrRefreshInFlight], and also the previous refresh's error when
	//     that one failed, saying how long the refresh has been running.
	//
	// So no caller waits out a refresh that hangs (up to RefreshTimeout,
	// provider retries included) while valid credentials are cached, nor one
	// that hung from before their expiry to after it. A refresh started
	// without valid credentials (a cold start, after [Cache.Invalidate], or
	// after the credentials expired with no refresh in flight) is the only
	// way to credentials: callers wait for it until it ends or their ctx is
	// done, whatever MaxWait.
	//
	// Zero means the default, 1 second; [NoWait] (any negative
	// value) means not waiting at all for a refresh that started while
	// valid credentials were cached (the same outcomes, at once); values
	// above RefreshTimeout are clamped to it.
	MaxWait time.Duration

	// Clock is the time source of every expiry decision, backoff and
	// timeout. Nil means the wall clock. Tests pass a [clock.Fake].
	Clock clock.Clock

	// Logger receives refresh failures (Warn while cached credentials are
	// still valid, Error when none are), callers that stopped waiting for a
	// refresh, through their ctx or after MaxWait, and were served the
	// cached credentials (Warn, once per refresh), store problems (Warn),
	// successful refreshes and refreshes cancelled by Close (Debug). It
	// never receives a credential value.
	// Nil discards.
	Logger *slog.Logger

	// Store, when set, keeps credentials across processes: on a cold start
	// or a refresh the cache first loads StoreKey (or StoreKeyFunc's key)
	// from it, and only when
	// the stored credentials are not fresh enough does it take the store's
	// lock, load again (another process may have just written) and call
	// the provider, saving the result. N processes started at once on an
	// empty store thus make one provider call. Store errors are logged and
	// never stop a refresh: the provider is called without the store.
	Store Store

	// StoreKey names the credentials in Store. It must identify everything
	// that changes the credentials the provider returns: role ARN, session
	// name, policies, duration and the identity of the token source
	// (provider.Provider.CacheKey computes one). Required with Store, unless
	// StoreKeyFunc is set: New panics when Store is set without either.
	StoreKey string

	// StoreKeyFunc, when set, names the credentials in Store at each
	// refresh, in place of StoreKey: the cache calls it once per refresh,
	// before it reads the store, and uses its key to load, lock and save.
	// provider.Provider.StoreKey is one: it keys the credentials by the
	// identity of the very token the provider sends next, so that
	// processes sharing a store never serve one identity's credentials to
	// another, even when the token file changes hands (a CI runner's next
	// job). An error fails the refresh like a provider error.
	StoreKeyFunc func(ctx context.Context) (string, error)

	// OnRefresh, when set, is called after every refresh attempt with what
	// happened, for metrics. It is called from a refreshing goroutine once
	// the outcome is in effect (Retrieve already serves the new
	// credentials, and the next refresh may start), in order and one call
	// at a time. It must not block for long: the callers waiting for that
	// refresh (on a cold start or in the mandatory window) get its result
	// only once OnRefresh and the refresh's log record have returned. It
	// must not call the cache's Retrieve or Close.
	OnRefresh func(RefreshEvent)

	// MeterProvider receives the cache's metrics (refreshes by outcome and
	// error class, refresh duration, seconds until expiry, callers that
	// waited, stale credentials served, store loads and lock waits; see
	// docs/metrics.md), as sts.Options.MeterProvider does the SDK's: give
	// both the same OpenTelemetry adapter. They are recorded on the slow
	// path and in refreshes only, never while Retrieve serves fresh
	// credentials. The time-to-expiry gauge is asynchronous: it holds the
	// cache until [Cache.Close]. Nil means metrics.NopMeterProvider.
	MeterProvider metrics.MeterProvider

	// TracerProvider receives a span per refresh, "awsoidc.cache.refresh",
	// inside which the provider's own spans (STS attempts) nest. Its parent
	// is the span, if any, of the Retrieve call that started the refresh.
	// Nil means tracing.NopTracerProvider.
	TracerProvider tracing.TracerProvider
}

// normalize fills in defaults and clamps out-of-range values.
func (o *Options) normalize() {
	if o.AdvisoryWindow < 0 {
		o.AdvisoryWindow = 0 // by lifetime
	}
	if o.MandatoryWindow <= 0 {
		o.MandatoryWindow = defaultMandatoryWindow
	}
	if o.AdvisoryWindow > 0 && o.MandatoryWindow > o.AdvisoryWindow {
		o.MandatoryWindow = o.AdvisoryWindow
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = defaultJitter
	case o.Jitter < 0:
		o.Jitter = 0
	case o.Jitter > 1:
		o.Jitter = 1
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = defaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = defaultRefreshTimeout
	}
	switch {
	case o.MaxWait == 0:
		o.MaxWait = defaultMaxWait
	case o.MaxWait < 0:
		o.MaxWait = NoWait
	}
	if o.MaxWait > o.RefreshTimeout {
		o.MaxWait = o.RefreshTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}
