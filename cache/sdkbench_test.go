package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// Figure 2 of the cache issue: refreshes seen through
// config.LoadDefaultConfig(..., config.WithCredentialsProvider(p)), for the
// Cache and for the SDK's own web identity provider, side by side.
//
// The workload is the same for both: sdkbGoroutines goroutines call
// cfg.Credentials.Retrieve in rounds (every goroutine once per round, a round
// every sdkbRound of real time) across sdkbRefreshes refreshes, while STS
// (ststest, over HTTP with the real STS client) answers
// AssumeRoleWithWebIdentity after a real 200 ms (SetLatency).
//
// How time is driven. The SDK's aws.CredentialsCache, which LoadDefaultConfig
// puts in front of every provider, compares Expires with the wall clock
// through its internal sdk.NowTime, which no test outside the SDK can set.
//
//   - The Cache runs on a clock.Fake shared with ststest (so STS issues
//     1-hour credentials on fake time). Each refresh is started by moving the
//     fake clock to the refresh moment the Cache reported
//     (RefreshEvent.NextRefresh); fake time then stands still while STS
//     takes its real 200 ms, so the result cannot depend on the machine's
//     speed: the number of callers that waited for STS (counted by the
//     Cache) and the number of STS calls are asserted. The SDK's wrapper
//     sees that fake time in one of two ways, both run:
//   - "synced": a thin adapter (sdkbWall) between the wrapper and the Cache
//     moves the Expires the Cache hands out from fake time to the wall
//     clock (same distance from now), and the driver invalidates the
//     wrapper when it moves the fake clock to the refresh moment, which is
//     what the wall clock reaching that Expires would do. So the wrapper
//     serves calls itself between refreshes, passes the first call after
//     the refresh moment to the Cache, which starts the refresh and hands
//     out the old credentials with Expires refreshingHold away, serves
//     calls itself again while STS answers, and, once the refresh is done,
//     the driver moves the fake clock by refreshingHold and invalidates the
//     wrapper again (the wall clock reaching that Expires), so that it
//     fetches the new credentials: exactly as in production, less the wait
//     for the rest of the hold.
//   - "every call": the Cache is given to LoadDefaultConfig as is, with the
//     fake clock 48 hours behind the wall clock, so the wrapper sees every
//     Expires as past and passes every call to the Cache: the worst case for
//     the Cache.
//   - The SDK's provider has no clock to inject, so it runs on the wall
//     clock: ststest's clock is set back by 15 minutes less
//     sdkbSDKLifetime, so that the 15-minute credentials it issues expire
//     sdkbSDKLifetime of real time after they are issued (less up to a
//     second: STS truncates Expiration to whole seconds). Its figures are
//     printed, not asserted.
//
// Timings (latency percentiles, calls that took ≥ 100 ms) are printed for
// all and asserted for none.
const (
	sdkbGoroutines   = 1000
	sdkbRefreshes    = 3
	sdkbSTSLatency   = 200 * time.Millisecond
	sdkbRound        = 5 * time.Millisecond
	sdkbSDKLifetime  = 2 * time.Second
	sdkbWaitedAt     = 100 * time.Millisecond // a call this slow waited for STS
	sdkbRoleDuration = 15 * time.Minute
)

// TestSDKRefresh prints figure 2 and asserts its correctness parts for the
// Cache: no SDK call waits for STS at a refresh, and each refresh is one STS
// call. The SDK's column takes sdkbSDKLifetime of real time per refresh:
// without AWSOIDC_FULL_FIGURES it covers one refresh (its figures are
// printed, not asserted), and the test takes about 4 s; with it (as CI runs
// it), all three, about 9 s. -short runs 100 goroutines.
//
//	AWSOIDC_FULL_FIGURES=1 go test -run '^TestSDKRefresh$' -v ./cache/
func TestSDKRefresh(t *testing.T) {
	goroutines, sdkRefreshes := sdkbGoroutines, 1
	if testing.Short() {
		goroutines = 100
	}
	if fullFigures() {
		sdkRefreshes = sdkbRefreshes
	}
	synced := sdkbRunCache(t, goroutines, sdkbRefreshes, true)
	every := sdkbRunCache(t, goroutines, sdkbRefreshes, false)
	floor := sdkbRunFloor(t, goroutines, sdkbRefreshes)
	sdk := sdkbRunSDK(t, goroutines, sdkRefreshes)
	t.Log("\n" + sdkbTable(synced, every, floor, sdk))
}

// BenchmarkSDKRefresh reports figure 2 as benchmark metrics. Each iteration
// is a whole run (about 5 s); run it once:
//
//	go test -run '^$' -bench '^BenchmarkSDKRefresh$' -benchtime 1x ./cache/
func BenchmarkSDKRefresh(b *testing.B) {
	for range b.N {
		ours := sdkbRunCache(b, sdkbGoroutines, sdkbRefreshes, true)
		every := sdkbRunCache(b, sdkbGoroutines, sdkbRefreshes, false)
		floor := sdkbRunFloor(b, sdkbGoroutines, sdkbRefreshes)
		sdk := sdkbRunSDK(b, sdkbGoroutines, sdkbRefreshes)
		b.ReportMetric(float64(ours.Waiters), "cache-waiters")
		b.ReportMetric(float64(ours.Waited), "cache-calls>=100ms")
		b.ReportMetric(sdkbMS(ours.Max), "cache-max-ms")
		b.ReportMetric(sdkbMS(ours.P99), "cache-p99-ms")
		b.ReportMetric(ours.perRefresh(ours.STSCalls), "cache-sts/refresh")
		b.ReportMetric(sdkbMS(floor.Max), "floor-max-ms")
		b.ReportMetric(sdkbMS(floor.P99), "floor-p99-ms")
		b.ReportMetric(float64(every.Waiters), "every-waiters")
		b.ReportMetric(sdkbMS(every.Max), "every-max-ms")
		b.ReportMetric(sdkbMS(every.P99), "every-p99-ms")
		b.ReportMetric(sdk.perRefresh(sdk.Waited), "sdk-waited/refresh")
		b.ReportMetric(sdkbMS(sdk.Max), "sdk-max-ms")
		b.ReportMetric(sdkbMS(sdk.WaitedP50), "sdk-waited-p50-ms")
		b.ReportMetric(sdk.perRefresh(sdk.STSCalls), "sdk-sts/refresh")
		// b.Log would keep 10 lines of it.
		fmt.Println(sdkbTable(ours, every, floor, sdk))
	}
}

// sdkbResult is what one run measured.
type sdkbResult struct {
	Name       string
	Goroutines int
	Refreshes  int
	STSCalls   int   // AssumeRoleWithWebIdentity calls for the refreshes (cold start apart)
	Through    int64 // SDK calls that reached the Cache; -1: not counted
	Waiters    int64 // callers that waited for a refresh, counted by the Cache; -1: not known
	Calls      int   // SDK Retrieve calls during the refreshes
	Waited     int   // of them, calls that took ≥ sdkbWaitedAt
	During     int   // calls that returned while the refresh's STS call was in flight; -1: not known
	DuringP99  time.Duration
	DuringMax  time.Duration
	P50, P99   time.Duration
	P999, Max  time.Duration
	WaitedP50  time.Duration // median latency of the calls that waited; 0 when none
	Cold       time.Duration // the first Retrieve, apart
	Errors     int
	Stall      time.Duration // scheduling delay of the load's ticker: machine noise
	FakeSpan   time.Duration // fake time the run covered (Cache only)
	Wall       time.Duration // real time the run took
}

func (r sdkbResult) perRefresh(n int) float64 { return float64(n) / float64(r.Refreshes) }

// sdkbRunCache runs the workload against the Cache in front of a
// provider.Provider, on a fake clock, and asserts the correctness figures.
// With synced, the SDK's wrapper sees the fake time through sdkbWall; else
// it passes every call to the Cache.
func sdkbRunCache(tb testing.TB, goroutines, refreshes int, synced bool) sdkbResult {
	tb.Helper()
	wallStart := time.Now()
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	fakeStart := clk.Now()
	srv := ststest.NewServer(func(o *ststest.Options) { o.Now = clk.Now })
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{Name: "sdkbench"})
	srv.SetLatency(ststest.ActionAssumeRoleWithWebIdentity, sdkbSTSLatency)

	// A fresh token on every call: fake time moves by hours, and a token
	// minted once would expire.
	src := tokensource.Func(func(context.Context) (tokensource.Token, error) {
		return tokensource.Token{Value: srv.MintToken(ststest.Claims{})}, nil
	})
	p, err := provider.New(srv.STSClient(), roleARN, src, func(o *provider.Options) {
		o.Clock = clk
		o.RoleSessionName = "sdkbench"
	})
	if err != nil {
		tb.Fatal(err)
	}
	evs := make(chan RefreshEvent, 16)
	c := New(p, func(o *Options) {
		o.Clock = clk
		o.Rand = rand.New(rand.NewPCG(2, 0)).Float64
		o.OnRefresh = func(ev RefreshEvent) { evs <- ev }
	})
	defer c.Close()
	var wall *sdkbWall
	var cfg aws.Config
	if synced {
		wall = &sdkbWall{c: c, clk: clk}
		cfg = sdkbLoadConfig(tb, wall)
	} else {
		cfg = sdkbLoadConfig(tb, c)
	}
	nextEvent := func() RefreshEvent {
		tb.Helper()
		select {
		case ev := <-evs:
			if ev.Outcome != OutcomeFetched {
				tb.Fatalf("refresh: outcome %v, %v", ev.Outcome, ev.Err)
			}
			return ev
		case <-time.After(30 * time.Second): // only a bug gets here
			tb.Fatal("no refresh event within 30s")
			return RefreshEvent{}
		}
	}

	// The cold start, apart: the one wait there is.
	coldStart := time.Now()
	creds, err := sdkbRetrieve(cfg)
	cold := time.Since(coldStart)
	if err != nil {
		tb.Fatal(err)
	}
	ev := nextEvent()
	calls0, waited0 := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity), c.in.waited.Load()

	var through atomic.Int64 // SDK calls that reached the Cache (synced only)
	if wall != nil {
		wall.n = &through
	}
	load := sdkbStartLoad(goroutines, 0, func(ctx context.Context) (aws.Credentials, error) {
		return cfg.Credentials.Retrieve(ctx)
	})
	var inflight [][2]time.Duration // real times of the refreshes, from load.begin
	for i := 1; i <= refreshes; i++ {
		calls := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
		from := time.Since(load.begin)
		// The refresh moment (the start of the advisory window) comes: the
		// next call that reaches the Cache starts the refresh.
		clk.Set(ev.NextRefresh)
		if wall != nil {
			wall.expire(cfg)
		}
		ev = nextEvent() // STS answered (200 ms later); callers were served meanwhile
		inflight = append(inflight, [2]time.Duration{from, time.Since(load.begin)})
		// The hold the Cache handed out during the refresh ends: the
		// wrapper comes back for the new credentials.
		clk.Advance(refreshingHold)
		if wall != nil {
			wall.expire(cfg)
		}
		if got := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - calls; got != 1 {
			tb.Errorf("refresh %d: %d STS calls; want 1", i, got)
		}
		// The SDK's wrapper shares one call into the Cache among its
		// callers: a call in flight before the event may still deliver
		// the old credentials, but the next one starts after the event.
		prev := creds.AccessKeyID
		for range 2 {
			if creds, err = sdkbRetrieve(cfg); err != nil {
				tb.Fatalf("refresh %d: %v", i, err)
			}
		}
		if creds.AccessKeyID == prev {
			tb.Fatalf("refresh %d: the SDK still gets the old credentials", i)
		}
	}
	samples, errs, stall := load.stop()

	r := sdkbSummarize(samples, inflight)
	r.Name, r.Goroutines, r.Refreshes = "cache.Cache, every call", goroutines, refreshes
	r.Through = -1
	if synced {
		r.Name, r.Through = "cache.Cache, synced", through.Load()
	}
	r.STSCalls = srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - calls0
	r.Waiters = c.in.waited.Load() - waited0
	r.Cold, r.Errors, r.Stall = cold, errs, stall
	r.FakeSpan, r.Wall = clk.Now().Sub(fakeStart), time.Since(wallStart)

	if r.Errors > 0 {
		tb.Errorf("%s: %d SDK calls failed", r.Name, r.Errors)
	}
	if r.Waiters != 0 {
		tb.Errorf("%s: %d callers waited for STS during %d refreshes; want 0", r.Name, r.Waiters, refreshes)
	}
	if r.STSCalls != refreshes {
		tb.Errorf("%s: %d STS calls for %d refreshes; want exactly one each", r.Name, r.STSCalls, refreshes)
	}
	return r
}

// sdkbWall stands between the SDK's aws.CredentialsCache and a Cache on a
// fake clock, and hands the wrapper the Cache's credentials with Expires
// moved to the wall clock, at the same distance from now, so that the
// wrapper keeps them exactly as long as it would if fake time were real.
// When the fake clock jumps to a refresh moment, expire does to the wrapper
// what the wall clock reaching that moment would do.
type sdkbWall struct {
	c   *Cache
	clk *clock.Fake
	gen atomic.Int64  // counts the jumps
	n   *atomic.Int64 // when set, counts the calls into the Cache
}

func (w *sdkbWall) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if w.n != nil {
		w.n.Add(1)
	}
	gen := w.gen.Load()
	creds, err := w.c.Retrieve(ctx)
	if err != nil || !creds.CanExpire {
		return creds, err
	}
	if w.gen.Load() != gen {
		// The fake clock jumped during the call: these credentials may be
		// due already; let the wrapper ask again.
		creds.Expires = time.Now()
		return creds, nil
	}
	creds.Expires = time.Now().Add(creds.Expires.Sub(w.clk.Now()))
	return creds, nil
}

// expire makes the SDK's wrapper of cfg treat the credentials it holds as
// expired, after the fake clock jumped (the clock first, then this).
func (w *sdkbWall) expire(cfg aws.Config) {
	w.gen.Add(1)
	cfg.Credentials.(*aws.CredentialsCache).Invalidate()
}

// sdkbRunSDK runs the workload against the SDK's
// stscreds.WebIdentityRoleProvider, on the wall clock. Nothing is asserted
// but that the run works.
func sdkbRunSDK(tb testing.TB, goroutines, refreshes int) sdkbResult {
	tb.Helper()
	wallStart := time.Now()
	behind := sdkbRoleDuration - sdkbSDKLifetime
	srv := ststest.NewServer(func(o *ststest.Options) {
		o.Now = func() time.Time { return time.Now().Add(-behind) }
	})
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{Name: "sdkbench"})
	srv.SetLatency(ststest.ActionAssumeRoleWithWebIdentity, sdkbSTSLatency)
	web := stscreds.NewWebIdentityRoleProvider(srv.STSClient(), roleARN, sdkbTokenRetriever{srv}, func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = "sdkbench"
		o.Duration = sdkbRoleDuration
	})
	cfg := sdkbLoadConfig(tb, web)

	coldStart := time.Now()
	if _, err := sdkbRetrieve(cfg); err != nil {
		tb.Fatal(err)
	}
	cold := time.Since(coldStart)
	calls0 := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)

	load := sdkbStartLoad(goroutines, 0, func(ctx context.Context) (aws.Credentials, error) {
		return cfg.Credentials.Retrieve(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(refreshes+5)*(sdkbSDKLifetime+time.Second))
	defer cancel()
	// The load makes the SDK refresh at each expiry; wait for the last
	// refresh to reach STS, then join it.
	if err := srv.WaitCalls(ctx, ststest.ActionAssumeRoleWithWebIdentity, calls0+refreshes); err != nil {
		tb.Fatalf("SDK refreshes: %v", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		tb.Fatal(err)
	}
	samples, errs, stall := load.stop()

	r := sdkbSummarize(samples, nil)
	r.Name, r.Goroutines, r.Refreshes = "SDK stscreds + aws.CredentialsCache", goroutines, refreshes
	r.STSCalls = srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - calls0
	r.Waiters, r.During, r.Through = -1, -1, -1
	r.Cold, r.Errors, r.Stall = cold, errs, stall
	r.Wall = time.Since(wallStart)
	if r.Errors > 0 {
		tb.Errorf("%d SDK calls failed", r.Errors)
	}
	return r
}

// sdkbRunFloor runs the workload, for as many rounds as the refreshes of
// the other runs take, against the SDK's wrapper in front of a provider that
// answers at once with credentials that are already due: every call goes
// through the wrapper's singleflight to the provider, as during a refresh of
// the Cache. It is the floor of the latency during a refresh, whatever the
// provider: what it costs the SDK to share one provider call among the
// goroutines.
func sdkbRunFloor(tb testing.TB, goroutines, refreshes int) sdkbResult {
	tb.Helper()
	wallStart := time.Now()
	var through atomic.Int64
	p := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		through.Add(1)
		return aws.Credentials{AccessKeyID: "AKIDFLOOR", SecretAccessKey: "floor-secret", CanExpire: true, Expires: time.Now()}, nil
	})
	cfg := sdkbLoadConfig(tb, p)
	rounds := refreshes * int(sdkbSTSLatency/sdkbRound)
	load := sdkbStartLoad(goroutines, rounds, func(ctx context.Context) (aws.Credentials, error) {
		return cfg.Credentials.Retrieve(ctx)
	})
	<-load.full
	samples, errs, stall := load.stop()
	r := sdkbSummarize(samples, [][2]time.Duration{{0, time.Since(load.begin)}})
	r.Name, r.Goroutines, r.Refreshes = "floor: SDK wrapper, instant provider", goroutines, refreshes
	r.Waiters, r.Through, r.STSCalls = -1, through.Load(), -1
	r.Errors, r.Stall, r.Wall, r.Cold = errs, stall, time.Since(wallStart), -1
	if r.Errors > 0 {
		tb.Errorf("%s: %d SDK calls failed", r.Name, r.Errors)
	}
	return r
}

// sdkbTokenRetriever gives the SDK's provider a fresh token on each call.
type sdkbTokenRetriever struct{ srv *ststest.Server }

func (r sdkbTokenRetriever) GetIdentityToken() ([]byte, error) {
	return []byte(r.srv.MintToken(ststest.Claims{})), nil
}

// sdkbLoadConfig builds the aws.Config as users do, with p as the
// credentials provider, isolated from the machine's files and environment.
func sdkbLoadConfig(tb testing.TB, p aws.CredentialsProvider) aws.Config {
	tb.Helper()
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		tb.Setenv(v, "")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(p))
	if err != nil {
		tb.Fatal(err)
	}
	if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
		tb.Fatalf("cfg.Credentials is %T; want the SDK's *aws.CredentialsCache", cfg.Credentials)
	}
	return cfg
}

// sdkbRetrieve is one SDK Retrieve with a real-time limit only a bug reaches.
func sdkbRetrieve(cfg aws.Config) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cfg.Credentials.Retrieve(ctx)
}

// sdkbSample is one call: when it started (from the start of the load) and
// how long it took.
type sdkbSample struct{ at, lat time.Duration }

// sdkbLoad is the workload: goroutines that each make one call per round, a
// round starting every sdkbRound of real time. Rounds pace the load (it
// would otherwise take every core of the machine) and make all the
// goroutines call at the same moment, the worst case for contention. A
// goroutine still busy when a round starts joins the next one.
type sdkbLoad struct {
	begin   time.Time
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex    // guards round
	round   chan struct{} // closed when the next round starts
	samples [][]sdkbSample
	errs    atomic.Int64
	stall   time.Duration // the latest the round ticker was received: machine noise
	rounds  int           // rounds started, counted by the ticker goroutine
	limit   int           // when > 0, full is closed once limit rounds have started
	full    chan struct{}
}

// sdkbStartLoad starts the load; when rounds > 0, the channel its full field
// holds is closed once that many rounds have started.
func sdkbStartLoad(goroutines, rounds int, retrieve func(context.Context) (aws.Credentials, error)) *sdkbLoad {
	l := &sdkbLoad{
		begin:   time.Now(),
		done:    make(chan struct{}),
		round:   make(chan struct{}),
		samples: make([][]sdkbSample, goroutines),
		limit:   rounds,
		full:    make(chan struct{}),
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(sdkbRound)
		defer tick.Stop()
		for {
			select {
			case at := <-tick.C:
				l.stall = max(l.stall, time.Since(at))
				l.mu.Lock()
				close(l.round)
				l.round = make(chan struct{})
				l.mu.Unlock()
				if l.rounds++; l.rounds == l.limit {
					close(l.full)
				}
			case <-l.done:
				return
			}
		}
	}()
	for g := range goroutines {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for {
				l.mu.Lock()
				round := l.round
				l.mu.Unlock()
				select {
				case <-round:
				case <-l.done:
					return
				}
				start := time.Now()
				creds, err := retrieve(ctx)
				lat := time.Since(start)
				if err != nil || !creds.HasKeys() {
					l.errs.Add(1)
				}
				l.samples[g] = append(l.samples[g], sdkbSample{at: start.Sub(l.begin), lat: lat})
			}
		}()
	}
	return l
}

// stop ends the load and returns every call it made, the number that
// failed, and the longest the round ticker waited to be received: how long
// the machine left the test without a CPU, which the latencies include.
func (l *sdkbLoad) stop() ([]sdkbSample, int, time.Duration) {
	close(l.done)
	l.wg.Wait()
	var all []sdkbSample
	for _, s := range l.samples {
		all = append(all, s...)
	}
	return all, int(l.errs.Load()), l.stall
}

// sdkbSummarize computes the latency figures, and counts the calls that
// returned while a refresh was in flight (intervals from the load's start).
func sdkbSummarize(samples []sdkbSample, inflight [][2]time.Duration) sdkbResult {
	r := sdkbResult{Calls: len(samples)}
	lats := make([]time.Duration, 0, len(samples))
	var waited, during []time.Duration
	for _, s := range samples {
		lats = append(lats, s.lat)
		if s.lat >= sdkbWaitedAt {
			waited = append(waited, s.lat)
		}
		for _, iv := range inflight {
			if end := s.at + s.lat; end > iv[0] && end < iv[1] {
				during = append(during, s.lat)
			}
		}
	}
	slices.Sort(lats)
	slices.Sort(waited)
	slices.Sort(during)
	r.During = len(during)
	r.DuringP99 = sdkbQuantile(during, 0.99)
	if len(during) > 0 {
		r.DuringMax = during[len(during)-1]
	}
	r.Waited = len(waited)
	r.P50, r.P99, r.P999 = sdkbQuantile(lats, 0.5), sdkbQuantile(lats, 0.99), sdkbQuantile(lats, 0.999)
	if len(lats) > 0 {
		r.Max = lats[len(lats)-1]
	}
	r.WaitedP50 = sdkbQuantile(waited, 0.5)
	return r
}

// sdkbQuantile returns the q-quantile of sorted (nearest rank); 0 when empty.
func sdkbQuantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sdkbMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sdkbTable prints the runs side by side, as a Markdown table.
func sdkbTable(runs ...sdkbResult) string {
	var b strings.Builder
	row := func(what string, f func(r sdkbResult) string) {
		fmt.Fprintf(&b, "| %-44s |", what)
		for _, r := range runs {
			fmt.Fprintf(&b, " %-24s |", f(r))
		}
		b.WriteString("\n")
	}
	known := func(n int64) string {
		if n < 0 {
			return "n/a"
		}
		return fmt.Sprint(n)
	}
	dur := func(d time.Duration) string {
		if d < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f ms", sdkbMS(d))
	}
	row("", func(r sdkbResult) string { return r.Name })
	row("---", func(sdkbResult) string { return "---" })
	row("goroutines calling cfg.Credentials.Retrieve", func(r sdkbResult) string { return fmt.Sprint(r.Goroutines) })
	row("refreshes (STS latency 200 ms)", func(r sdkbResult) string { return fmt.Sprint(r.Refreshes) })
	row("callers that waited for STS (Cache's count)", func(r sdkbResult) string { return known(r.Waiters) })
	row("calls that took ≥ 100 ms, per refresh", func(r sdkbResult) string {
		return fmt.Sprintf("%.1f", r.perRefresh(r.Waited))
	})
	row("STS calls per refresh", func(r sdkbResult) string {
		if r.STSCalls < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", r.perRefresh(r.STSCalls))
	})
	row("latency max", func(r sdkbResult) string { return dur(r.Max) })
	row("latency p99.9", func(r sdkbResult) string { return dur(r.P999) })
	row("latency p99", func(r sdkbResult) string { return dur(r.P99) })
	row("latency p50", func(r sdkbResult) string { return dur(r.P50) })
	row("latency p50 of the calls that took ≥ 100 ms", func(r sdkbResult) string { return dur(r.WaitedP50) })
	row("SDK calls measured", func(r sdkbResult) string { return fmt.Sprint(r.Calls) })
	row("of them, served while STS was answering", func(r sdkbResult) string { return known(int64(r.During)) })
	row("of them, p99 / max latency", func(r sdkbResult) string {
		if r.During < 0 {
			return "n/a"
		}
		return dur(r.DuringP99) + " / " + dur(r.DuringMax)
	})
	row("SDK calls that reached the Cache (provider)", func(r sdkbResult) string { return known(r.Through) })
	row("longest scheduling delay (machine noise)", func(r sdkbResult) string { return dur(r.Stall) })
	row("failed calls", func(r sdkbResult) string { return fmt.Sprint(r.Errors) })
	row("cold start (first Retrieve, apart)", func(r sdkbResult) string { return dur(r.Cold) })
	row("fake time covered", func(r sdkbResult) string {
		if r.FakeSpan == 0 {
			return "n/a (wall clock)"
		}
		return r.FakeSpan.Round(time.Second).String()
	})
	row("real time taken", func(r sdkbResult) string { return r.Wall.Round(time.Millisecond).String() })
	return b.String()
}
