package cache

import (
	"context"
	"time"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/internal/telemetry"
)

// scope names the meter and the tracer of the cache.
const scope = "github.com/awsoidc/awsoidc/cache"

// Reasons for serving stale credentials: the attribute awsoidc.reason of
// awsoidc.cache.stale_served.
const (
	staleFailed = "refresh_failed" // the last refresh failed; backing off before the next
	staleSlow   = "refresh_slow"   // the caller stopped waiting for the refresh in flight
)

// instruments are the cache's metrics and tracer (docs/metrics.md). They
// are recorded on the slow path and in refreshes only, never on the fast
// path of Retrieve.
type instruments struct {
	refreshes    metrics.Int64Counter
	duration     metrics.Float64Histogram
	waiters      metrics.Int64Counter
	stale        metrics.Int64Counter
	storeLoads   metrics.Int64Counter
	lockWaits    metrics.Int64Counter
	lockDuration metrics.Float64Histogram
	stopExpiry   func() // unregisters the time-to-expiry gauge
	tracer       tracing.Tracer
}

// newInstruments creates the instruments of c from its options.
func newInstruments(c *Cache, o *Options) *instruments {
	m := telemetry.Meter(o.MeterProvider, scope)
	return &instruments{
		refreshes: telemetry.Counter(m, "awsoidc.cache.refreshes", "{refresh}",
			"Refresh attempts, by outcome (fetched, loaded, failed) and error class."),
		duration: telemetry.Histogram(m, "awsoidc.cache.refresh.duration", "s",
			"Duration of refresh attempts: store lock, provider call with its retries, store write."),
		waiters: telemetry.Counter(m, "awsoidc.cache.refresh.waiters", "{caller}",
			"Retrieve calls that waited for a refresh (cold start, mandatory window, after expiry)."),
		stale: telemetry.Counter(m, "awsoidc.cache.stale_served", "{call}",
			"Retrieve calls served credentials in their mandatory window because the refresh failed or was slow."),
		storeLoads: telemetry.Counter(m, "awsoidc.cache.store.loads", "{load}",
			"Loads from the persistent store, by result (hit, miss, error)."),
		lockWaits: telemetry.Counter(m, "awsoidc.cache.store.lock.waits", "{wait}",
			"Waits for the persistent store's cross-process lock, by result (acquired, failed)."),
		lockDuration: telemetry.Histogram(m, "awsoidc.cache.store.lock.duration", "s",
			"Time spent waiting for the persistent store's cross-process lock."),
		stopExpiry: telemetry.Gauge(m, "awsoidc.cache.credentials.time_to_expiry", "s",
			"Seconds until the cached credentials really expire; negative once expired, absent when none are cached.",
			func(ctx context.Context, obs metrics.Float64Observer) {
				e := c.cur.Load()
				if e == nil || e.expires.Equal(farFuture) {
					return
				}
				obs.Observe(ctx, e.expires.Sub(c.now()).Seconds())
			}),
		tracer: telemetry.Tracer(o.TracerProvider, scope),
	}
}

// recordRefresh records the metrics of a refresh attempt.
func (m *instruments) recordRefresh(ctx context.Context, ev RefreshEvent) {
	attrs := telemetry.Attrs(telemetry.KeyOutcome, ev.Outcome.String(), telemetry.KeyErrorType, ev.ErrorClass)
	m.refreshes.Add(ctx, 1, attrs)
	m.duration.Record(ctx, ev.Duration.Seconds(), attrs)
}

// servedStale counts a caller served e at now when e is in its mandatory
// window, that is past the moment the cache wanted it replaced.
func (m *instruments) servedStale(ctx context.Context, now time.Time, e *entry, reason string) {
	if e.phase(now) == phaseMandatory {
		m.stale.Add(ctx, 1, telemetry.Attrs(telemetry.KeyReason, reason))
	}
}

// storeLoad counts a load from the store.
func (m *instruments) storeLoad(ctx context.Context, result string) {
	m.storeLoads.Add(ctx, 1, telemetry.Attrs(telemetry.KeyResult, result))
}

// lockWait records a wait for the store's lock.
func (m *instruments) lockWait(ctx context.Context, d time.Duration, err error) {
	result := "acquired"
	if err != nil {
		result = "failed"
	}
	attrs := telemetry.Attrs(telemetry.KeyResult, result)
	m.lockWaits.Add(ctx, 1, attrs)
	m.lockDuration.Record(ctx, d.Seconds(), attrs)
}
