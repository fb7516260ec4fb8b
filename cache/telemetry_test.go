package cache

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/telemetrytest"
)

// Instrument names, as docs/metrics.md lists them.
const (
	mRefreshes    = "awsoidc.cache.refreshes"
	mDuration     = "awsoidc.cache.refresh.duration"
	mWaiters      = "awsoidc.cache.refresh.waiters"
	mStale        = "awsoidc.cache.stale_served"
	mStoreLoads   = "awsoidc.cache.store.loads"
	mLockWaits    = "awsoidc.cache.store.lock.waits"
	mLockDuration = "awsoidc.cache.store.lock.duration"
	mExpiry       = "awsoidc.cache.credentials.time_to_expiry"
	spanRefresh   = "awsoidc.cache.refresh"
)

// newRecordedCache is newTestCache with a telemetrytest.Recorder as the
// cache's meter and tracer providers.
func newRecordedCache(t *testing.T, clk clock.Clock, p *testProvider, optFns ...func(*Options)) (*Cache, *events, *telemetrytest.Recorder) {
	t.Helper()
	rec := &telemetrytest.Recorder{}
	fns := append([]func(*Options){func(o *Options) {
		o.MeterProvider, o.TracerProvider = rec, rec
	}}, optFns...)
	c, evs := newTestCache(t, clk, p, fns...)
	return c, evs, rec
}

// wantSum checks the sum of an instrument's measurements whose attributes
// include kv.
func wantSum(t *testing.T, rec *telemetrytest.Recorder, want float64, name string, kv ...string) {
	t.Helper()
	if got := rec.Sum(name, kv...); got != want {
		t.Errorf("sum of %s%v = %g, want %g; recorded:\n%s", name, kv, got, want, rec.Dump())
	}
}

func TestTelemetryFetchedRefresh(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, _, rec := newRecordedCache(t, clk, p)

	mustRetrieve(t, c) // a cold start: the caller waits for the refresh
	wantSum(t, rec, 1, mRefreshes, "awsoidc.outcome", "fetched")
	if n := rec.Count(mRefreshes, "error.type", "<nil>"); n != 1 {
		t.Errorf("a fetched refresh has no error.type attribute: %s", rec.Dump())
	}
	wantSum(t, rec, 1, mWaiters)
	if pts := rec.Points(mDuration); len(pts) != 1 || pts[0].Unit != "s" || pts[0].Attrs["awsoidc.outcome"] != "fetched" {
		t.Errorf("%s = %v, want one point in s, outcome fetched", mDuration, pts)
	}
	if pts := rec.Collect(context.Background()); len(pts) != 1 || pts[0].Name != mExpiry || pts[0].Value != time.Hour.Seconds() || pts[0].Unit != "s" {
		t.Errorf("gauges = %v, want %s = 3600 s", pts, mExpiry)
	}
	clk.Advance(10 * time.Minute)
	if pts := rec.Collect(context.Background()); len(pts) != 1 || pts[0].Value != (50*time.Minute).Seconds() {
		t.Errorf("gauges 10 min later = %v, want 3000 s", pts)
	}

	// The fast path records nothing.
	before := len(rec.All())
	for range 1000 {
		mustRetrieve(t, c)
	}
	if after := len(rec.All()); after != before {
		t.Errorf("1000 fresh Retrieve calls recorded %d measurements, want none", after-before)
	}
	wantSum(t, rec, 0, mStale)

	spans := rec.Spans(spanRefresh)
	if len(spans) != 1 {
		t.Fatalf("refresh spans = %+v, want 1", spans)
	}
	if s := spans[0]; !s.Ended || s.Status != tracing.SpanStatusOK || s.Props["awsoidc.outcome"] != "fetched" || s.Kind != tracing.SpanKindInternal {
		t.Errorf("refresh span = %+v", s)
	}

	_ = c.Close()
	if n := rec.Gauges(); n != 0 {
		t.Errorf("%d gauges still registered after Close, want 0", n)
	}
}

func TestTelemetryFailedRefreshServesStale(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs, rec := newRecordedCache(t, clk, p)
	mustRetrieve(t, c)
	evs.next(t)

	// In the mandatory window the caller waits for the refresh, which
	// fails: it gets the cached credentials, stale but valid.
	p.setFail(&smithy.GenericAPIError{Code: "IDPCommunicationError", Message: "the IdP is down"})
	clk.Advance(57 * time.Minute)
	mustRetrieve(t, c)
	if ev := evs.next(t); ev.Outcome != OutcomeFailed {
		t.Fatalf("event = %+v, want a failure", ev)
	}
	wantSum(t, rec, 1, mRefreshes, "awsoidc.outcome", "failed", "error.type", "IDPCommunicationError")
	wantSum(t, rec, 1, mRefreshes, "awsoidc.outcome", "fetched")
	if n := rec.Count(mDuration, "awsoidc.outcome", "failed", "error.type", "IDPCommunicationError"); n != 1 {
		t.Errorf("%s of the failure: %d points, want 1", mDuration, n)
	}
	wantSum(t, rec, 2, mWaiters)
	wantSum(t, rec, 1, mStale, "awsoidc.reason", "refresh_failed")

	// While backing off, every caller gets them without waiting.
	mustRetrieve(t, c)
	mustRetrieve(t, c)
	wantSum(t, rec, 3, mStale, "awsoidc.reason", "refresh_failed")
	wantSum(t, rec, 2, mWaiters)

	spans := rec.Spans(spanRefresh)
	if len(spans) != 2 {
		t.Fatalf("refresh spans = %+v, want 2", spans)
	}
	if s := spans[1]; !s.Ended || s.Status != tracing.SpanStatusError || s.Props["error.type"] != "IDPCommunicationError" || s.Props["awsoidc.outcome"] != "failed" {
		t.Errorf("failed refresh span = %+v", s)
	}
}

func TestTelemetryStaleWhenWaitEnds(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, evs, rec := newRecordedCache(t, clk, p, func(o *Options) { o.MaxWait = NoWait })
	mustRetrieve(t, c)
	evs.next(t)

	release := p.block()
	defer release()
	clk.Advance(57 * time.Minute)
	mustRetrieve(t, c) // starts the refresh, does not wait for it
	wantSum(t, rec, 1, mStale, "awsoidc.reason", "refresh_slow")
	release()
	evs.next(t)
}

func TestTelemetryWaiters(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, _, rec := newRecordedCache(t, clk, p)
	sig := watch(c)
	release := p.block()
	var results []<-chan retrieval
	for range 3 {
		results = append(results, goRetrieve(c))
	}
	waitFor(t, "3 waiting callers", sig, func() bool { return c.in.waiting.Load() == 3 })
	release()
	for _, r := range results {
		(<-r).must(t)
	}
	wantSum(t, rec, 3, mWaiters)
	wantSum(t, rec, 1, mRefreshes)
	if n := p.calls.Load(); n != 1 {
		t.Errorf("provider calls = %d, want 1", n)
	}
}

func TestTelemetryStore(t *testing.T) {
	clk := clock.NewFake(t0)
	store := newMemStore()
	p := newTestProvider(clk, time.Hour)
	withStore := func(o *Options) { o.Store, o.StoreKey = store, "k" }

	// The first cache misses twice (before and under the lock) and
	// fetches; the second loads what the first saved.
	first, _, rec1 := newRecordedCache(t, clk, p, withStore)
	mustRetrieve(t, first)
	wantSum(t, rec1, 2, mStoreLoads, "awsoidc.result", "miss")
	wantSum(t, rec1, 0, mStoreLoads, "awsoidc.result", "hit")
	wantSum(t, rec1, 1, mLockWaits, "awsoidc.result", "acquired")
	if pts := rec1.Points(mLockDuration); len(pts) != 1 || pts[0].Unit != "s" {
		t.Errorf("%s = %v, want one point in s", mLockDuration, pts)
	}
	wantSum(t, rec1, 1, mRefreshes, "awsoidc.outcome", "fetched")

	second, _, rec2 := newRecordedCache(t, clk, p, withStore)
	mustRetrieve(t, second)
	wantSum(t, rec2, 1, mStoreLoads, "awsoidc.result", "hit")
	wantSum(t, rec2, 0, mLockWaits)
	wantSum(t, rec2, 1, mRefreshes, "awsoidc.outcome", "loaded")
	if s := rec2.Spans(spanRefresh); len(s) != 1 || s[0].Props["awsoidc.outcome"] != "loaded" {
		t.Errorf("refresh spans = %+v, want one, loaded", s)
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("provider calls = %d, want 1", n)
	}

	store.mu.Lock()
	store.loadErr = errSTSDown
	store.mu.Unlock()
	third, _, rec3 := newRecordedCache(t, clk, p, withStore)
	mustRetrieve(t, third)
	wantSum(t, rec3, 2, mStoreLoads, "awsoidc.result", "error")
}

// TestTelemetryNoSecrets checks that no credential value reaches a metric
// or a span, and that the refresh span is the parent of the spans the
// provider starts in its ctx.
func TestTelemetryNoSecrets(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	rec := &telemetrytest.Recorder{}
	var mu sync.Mutex
	var parents []int
	inner := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		_, span := rec.Tracer("test").StartSpan(ctx, "child")
		span.End()
		mu.Lock()
		parents = append(parents, rec.Spans("child")[len(rec.Spans("child"))-1].Parent)
		mu.Unlock()
		return p.Retrieve(ctx)
	})
	c, evs := newTestCache(t, clk, inner, func(o *Options) { o.MeterProvider, o.TracerProvider = rec, rec })
	creds := mustRetrieve(t, c)
	p.setFail(&smithy.GenericAPIError{Code: "InvalidIdentityToken", Message: "bad token " + creds.SecretAccessKey})
	clk.Advance(57 * time.Minute)
	mustRetrieve(t, c)
	evs.next(t)
	evs.next(t)
	rec.Collect(context.Background())

	dump := rec.Dump()
	for _, s := range []string{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, "SECRET", "do-not-print", "bad token"} {
		if strings.Contains(dump, s) {
			t.Errorf("telemetry holds %q:\n%s", s, dump)
		}
	}
	refreshes := rec.Spans(spanRefresh)
	mu.Lock()
	defer mu.Unlock()
	if len(refreshes) != 2 || len(parents) != 2 || parents[0] != refreshes[0].ID || parents[1] != refreshes[1].ID {
		t.Errorf("child span parents = %v, refresh spans = %+v", parents, refreshes)
	}
}
