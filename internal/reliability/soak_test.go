package reliability

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

var (
	soakSeed = flag.Uint64("soak.seed", 20300304, "seed of the soak tests' fault schedule and jitter")
	soakDays = flag.Int("soak.days", 0, "simulated days of TestSoak30Days (0: 30)")
)

// The daemon of the soak: a request every requestEvery of virtual time, to
// a cache.Cache with default options in front of a provider with default
// retries, over a token file rotated daily; credentials live 1 hour.
const (
	requestEvery = 10 * time.Second
	maxOutage    = 20 * time.Minute
	tokenLife    = 26 * time.Hour // rotated every 24 h, like a kubelet well before expiry
)

// faultPlan is the random schedule of one soak.
type faultPlan struct {
	stsOutages, idpOutages [][2]time.Duration // [start, end) from t0
	throttles              []throttle
}

type throttle struct {
	at time.Duration
	n  int
}

// newFaultPlan draws, per simulated day, 0-3 STS outages and 0-2 identity
// provider outages of 1 to 20 minutes at random times, and 0-6 bursts of
// 1-10 throttled requests. Nothing happens in the first hour, so the cold
// start succeeds.
func newFaultPlan(rng *rand.Rand, days int) faultPlan {
	var p faultPlan
	outage := func() [2]time.Duration {
		start := time.Hour + durationN(rng, time.Duration(days)*24*time.Hour-2*time.Hour)
		start = start.Truncate(requestEvery)
		d := (time.Minute + durationN(rng, maxOutage-time.Minute+1)).Truncate(requestEvery)
		return [2]time.Duration{start, start + d}
	}
	for range days {
		for range rng.IntN(4) {
			p.stsOutages = append(p.stsOutages, outage())
		}
		for range rng.IntN(3) {
			p.idpOutages = append(p.idpOutages, outage())
		}
		for range rng.IntN(7) {
			at := (time.Hour + durationN(rng, time.Duration(days)*24*time.Hour-2*time.Hour)).Truncate(requestEvery)
			p.throttles = append(p.throttles, throttle{at: at, n: 1 + rng.IntN(10)})
		}
	}
	return p
}

// durationN is a uniform duration in [0, n).
func durationN(rng *rand.Rand, n time.Duration) time.Duration {
	return time.Duration(rng.Int64N(int64(n)))
}

// soakResult are the figures of one soak.
type soakResult struct {
	backend                               string
	days                                  int
	requests, served, failed              int
	excused, violations                   int // violations = gaps + hard
	gaps, hard                            int
	servedExpired                         int
	stsCalls, refreshes, failedRefreshes  int
	stsOutages, idpOutages, throttleBurst int
	downtime                              time.Duration
	bound                                 int
	wall                                  time.Duration
	firstViolations                       []string
}

// TestSoak30Days simulates 30 days of a daemon on a virtual clock, in a
// few seconds of real time: a request every 10 seconds to a cache.Cache
// (default options) in front of a provider (default retries) that calls
// ststest over HTTP with the real sts client (ststest validates every token
// with discovery and JWKS fetched from its issuer), with tokens from a file
// rotated daily, 1-hour credentials, and random faults: STS down and the
// identity provider down for 1 to 20 minutes at a time, and throttling
// bursts. It checks every answer: credentials STS still accepts, or a
// failure only while STS could not have answered since the cache began
// refreshing the credentials that expired; and it bounds the STS calls.
//
//	go test -v -run TestSoak30Days ./internal/reliability/ [-args -soak.seed=N -soak.days=N]
//
// ststest over HTTP is fast enough for the whole 30 days (about 2 s, 10 s
// with -race), so there is no function-typed STS stand-in: the wire format,
// the SDK's error deserialization, token validation and fault injection are
// the real ones all the way.
func TestSoak30Days(t *testing.T) {
	days := *soakDays
	if days <= 0 {
		days = 30
	}
	res := runSoak(t, newSTSTestBackend(t), days, *soakSeed)
	checkSoak(t, res)
}

func checkSoak(t *testing.T, res soakResult) {
	t.Helper()
	if testing.Verbose() {
		fmt.Println(res.String())
	}
	if res.violations != 0 || res.servedExpired != 0 {
		t.Errorf("%d failed Retrieve calls while STS could have succeeded within the credentials' lifetime (%d with an attempt while STS was available, %d missed by the backoff), %d served expired credentials:\n%s",
			res.violations, res.hard, res.gaps, res.servedExpired, strings.Join(res.firstViolations, "\n"))
	}
	if res.stsCalls > res.bound {
		t.Errorf("%d STS requests, over the bound of %d", res.stsCalls, res.bound)
	}
	if res.served+res.failed != res.requests || res.failed != res.excused+res.violations {
		t.Errorf("inconsistent counts: %+v", res)
	}
}

func (r soakResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nSoak (%s backend), %d simulated days in %s of real time, seed %d\n", r.backend, r.days, r.wall.Round(time.Millisecond), *soakSeed)
	fmt.Fprintf(&b, "| figure | value |\n|---|---:|\n")
	rows := [][2]string{
		{"Retrieve calls (one every 10 s)", fmt.Sprint(r.requests)},
		{"served valid credentials", fmt.Sprint(r.served)},
		{"failed", fmt.Sprint(r.failed)},
		{"— failed while STS or the IdP was down from the first refresh attempt to expiry (excused)", fmt.Sprint(r.excused)},
		{"— failed although STS could have succeeded within the credentials' lifetime", fmt.Sprint(r.violations)},
		{"—— of which: an attempt failed while STS was available (must be 0)", fmt.Sprint(r.hard)},
		{"—— of which: the cache's backoff made no attempt while STS was available before expiry (must be 0)", fmt.Sprint(r.gaps)},
		{"served expired credentials", fmt.Sprint(r.servedExpired)},
		{"STS outages / IdP outages / throttling bursts", fmt.Sprintf("%d / %d / %d", r.stsOutages, r.idpOutages, r.throttleBurst)},
		{"STS or IdP down (total)", r.downtime.String()},
		{"successful refreshes (credentials fetched)", fmt.Sprint(r.refreshes)},
		{"failed refresh attempts", fmt.Sprint(r.failedRefreshes)},
		{"AssumeRoleWithWebIdentity requests", fmt.Sprint(r.stsCalls)},
		{"— per day", fmt.Sprintf("%.1f", float64(r.stsCalls)/float64(r.days))},
		{"— bound", fmt.Sprint(r.bound)},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	return b.String()
}

// callBound is the stated bound on STS requests:
//   - one successful request per 45 minutes (the credentials live an hour
//     and are refreshed no earlier than 15 minutes before expiry), plus one
//     early refresh per recovery (the cache spreads the first refresh after
//     a failure);
//   - per outage, 16 refresh attempts of 5 requests each: the cache's
//     backoff ceilings (1 s doubling to 5 min, full jitter) allow about 14
//     attempts in 20 minutes when each draw lands in the middle of its
//     range, plus one, plus the last chance the backoff keeps before an
//     expiry that falls in the outage. It is a budget for this policy, not
//     a worst case: with every draw near zero the cache could try at every
//     request (each 10 s);
//   - every throttled request.
func callBound(days int, plan faultPlan) int {
	perOutage := (14 + 1 + 1) * 5 // 5: the provider's default MaxAttempts
	n := days*24*60/45 + 1
	n += (len(plan.stsOutages) + len(plan.idpOutages)) * (perOutage + 1)
	for _, th := range plan.throttles {
		n += th.n
	}
	return n
}

// runSoak simulates days of the daemon against b with the fault plan of
// seed, and checks every answer.
func runSoak(t *testing.T, b *ststestBackend, days int, seed uint64) soakResult {
	t.Helper()
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 1))
	plan := newFaultPlan(rng, days)
	res := soakResult{backend: b.name(), days: days, stsOutages: len(plan.stsOutages), idpOutages: len(plan.idpOutages),
		throttleBurst: len(plan.throttles), bound: callBound(days, plan)}

	clk := clock.NewFake(t0)
	b.setClock(clk)
	driven := &drivenClock{Fake: clk, sleeps: make(chan time.Duration, 1)}
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	writeToken := func() {
		if err := os.WriteFile(path+".new", []byte(b.mint(clk.Now())), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil { // atomic, as the kubelet's symlink swap
			t.Fatal(err)
		}
	}
	writeToken()
	jitter := rand.New(rand.NewPCG(seed, 2))
	p, err := provider.New(b.client(), b.role(), tokensource.File(path), func(o *provider.Options) {
		o.Clock = driven
		o.Rand = jitter.Float64 // used from the refresh goroutine only, one refresh at a time
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		events  []cache.RefreshEvent
		changed = make(chan struct{})
	)
	cacheRand := rand.New(rand.NewPCG(seed, 3))
	c := cache.New(p, func(o *cache.Options) {
		o.Clock = clk
		o.Rand = cacheRand.Float64
		o.OnRefresh = func(ev cache.RefreshEvent) {
			mu.Lock()
			events = append(events, ev)
			close(changed)
			changed = make(chan struct{})
			mu.Unlock()
		}
	})
	defer func() { _ = c.Close() }()

	// The fault timeline, applied at the request times it falls on.
	type change struct {
		at    time.Duration
		apply func()
	}
	var timeline []change
	var stsDownN, idpDownN int
	var throttledSince time.Time // a throttling burst is pending since; until the next success
	var downs [][2]time.Time     // applied [start, end) of STS or IdP being down
	var throttled [][2]time.Time // [injection, next success) of throttling bursts
	var downSince time.Time
	setDown := func(sts bool, delta int) func() {
		return func() {
			before := stsDownN + idpDownN
			if sts {
				stsDownN += delta
				b.stsDown(stsDownN > 0)
			} else {
				idpDownN += delta
				b.idpDown(idpDownN > 0)
			}
			after := stsDownN + idpDownN
			switch {
			case before == 0 && after > 0:
				downSince = clk.Now()
			case before > 0 && after == 0:
				downs = append(downs, [2]time.Time{downSince, clk.Now()})
			}
		}
	}
	for _, o := range plan.stsOutages {
		timeline = append(timeline, change{o[0], setDown(true, 1)}, change{o[1], setDown(true, -1)})
	}
	for _, o := range plan.idpOutages {
		timeline = append(timeline, change{o[0], setDown(false, 1)}, change{o[1], setDown(false, -1)})
	}
	for _, th := range plan.throttles {
		timeline = append(timeline, change{th.at, func() {
			b.throttle(th.n)
			if throttledSince.IsZero() {
				throttledSince = clk.Now()
			}
		}})
	}
	for d := 24 * time.Hour; d < time.Duration(days)*24*time.Hour; d += 24 * time.Hour {
		timeline = append(timeline, change{d, writeToken})
	}
	sort.SliceStable(timeline, func(i, j int) bool { return timeline[i].at < timeline[j].at })

	// available reports whether STS could have answered at t: neither it
	// nor the identity provider down, and no throttling burst pending.
	available := func(t time.Time) bool {
		all := append(downs[:len(downs):len(downs)], throttled...)
		if stsDownN+idpDownN > 0 {
			all = append(all, [2]time.Time{downSince, farFuture})
		}
		if !throttledSince.IsZero() {
			all = append(all, [2]time.Time{throttledSince, farFuture})
		}
		for _, iv := range all {
			if !t.Before(iv[0]) && t.Before(iv[1]) {
				return false
			}
		}
		return true
	}
	// downThroughout reports whether STS could not have answered at any
	// moment of [from, to). Faults change on the request grid, and so does
	// availability.
	downThroughout := func(from, to time.Time) bool {
		for tt := from; tt.Before(to); tt = tt.Add(time.Second) {
			if available(tt) {
				return false
			}
		}
		return true
	}

	ctx := context.Background()
	var lastExpiry, refreshingSince time.Time // of the latest credentials; first failed attempt since
	var attempts []time.Time                  // failed attempts since the latest success
	seen := 0
	end := t0.Add(time.Duration(days) * 24 * time.Hour)
	next := 0
	for at := t0; at.Before(end); at = at.Add(requestEvery) {
		if clk.Now().Before(at) {
			clk.Set(at)
		}
		for next < len(timeline) && !t0.Add(timeline[next].at).After(clk.Now()) {
			timeline[next].apply()
			next++
		}
		// One request; drive the provider's retry sleeps and wait for the
		// refresh it starts, if any, so that the clock never moves under
		// a refresh except through its own waits.
		mu.Lock()
		n := len(events)
		due := n == 0 || !clk.Now().Before(events[n-1].NextRefresh)
		mu.Unlock()
		done := make(chan result, 1)
		go func() {
			creds, err := c.Retrieve(ctx)
			done <- result{creds, err}
		}()
		var out result
		got := false
		timeout := time.NewTimer(guard)
		for {
			mu.Lock()
			have, ch := len(events), changed
			mu.Unlock()
			if got && (!due || have > n) {
				break
			}
			select {
			case out = <-done:
				got = true
			case d := <-driven.sleeps:
				clk.Advance(d)
			case <-ch:
			case <-timeout.C:
				t.Fatalf("at %s: no answer or refresh event within %s", clk.Now().Sub(t0), guard)
			}
		}
		timeout.Stop()

		mu.Lock()
		for _, ev := range events[seen:] {
			if ev.Outcome == cache.OutcomeFailed {
				res.failedRefreshes++
				if refreshingSince.IsZero() {
					refreshingSince = ev.Start
				}
				attempts = append(attempts, ev.Start)
				continue
			}
			res.refreshes++
			lastExpiry, refreshingSince, attempts = ev.Expires, time.Time{}, nil
			if !throttledSince.IsZero() {
				throttled = append(throttled, [2]time.Time{throttledSince, ev.Start})
				throttledSince = time.Time{}
			}
		}
		seen = len(events)
		mu.Unlock()

		res.requests++
		now := clk.Now()
		if out.err == nil {
			res.served++
			if exp, ok := b.expiry(out.creds.AccessKeyID); !ok || !now.Before(exp) {
				res.servedExpired++
				if len(res.firstViolations) < 5 {
					res.firstViolations = append(res.firstViolations, fmt.Sprintf("at %s: served credentials STS considers expired at %s", now.Sub(t0), exp.Sub(t0)))
				}
			}
			continue
		}
		res.failed++
		// Excused only if, from the first refresh attempt for the
		// credentials that expired to their expiry (or now, if sooner), STS
		// or the identity provider was down the whole time.
		if !refreshingSince.IsZero() && !lastExpiry.IsZero() && refreshingSince.Before(lastExpiry) &&
			downThroughout(refreshingSince, earliest(lastExpiry, now)) {
			res.excused++
			continue
		}
		res.violations++
		// Was an attempt made while STS was available? Then the chain
		// failed where it should not have. Else the cache's backoff
		// stepped over the moments STS was back.
		hard := refreshingSince.IsZero()
		for _, a := range attempts {
			hard = hard || available(a)
		}
		kind := "the backoff made no attempt while STS was available"
		if hard {
			res.hard++
			kind = "an attempt failed while STS was available"
		} else {
			res.gaps++
		}
		if len(res.firstViolations) < 5 {
			var back []string
			for tt := refreshingSince; tt.Before(lastExpiry); tt = tt.Add(time.Second) {
				if available(tt) {
					back = append(back, tt.Sub(t0).String())
					break
				}
			}
			var at []string
			for _, a := range attempts {
				at = append(at, a.Sub(t0).String())
			}
			res.firstViolations = append(res.firstViolations, fmt.Sprintf("at %s (%s): credentials expired at %s; STS available again at %v; failed attempts at %v; %v",
				now.Sub(t0), kind, lastExpiry.Sub(t0), back, at, out.err))
		}
	}
	for _, iv := range downs {
		res.downtime += iv[1].Sub(iv[0])
	}
	res.stsCalls = b.requests()
	res.wall = time.Since(start)
	return res
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// drivenClock is the provider's view of the fake clock: it reports each
// retry wait, so that the simulation moves the clock through the
// provider's backoff rather than waiting for it.
type drivenClock struct {
	*clock.Fake
	sleeps chan time.Duration
}

func (c *drivenClock) NewTimer(d time.Duration) clock.Timer {
	tm := c.Fake.NewTimer(d)
	if d > 0 {
		c.sleeps <- d
	}
	return tm
}

// ststestBackend is the soak's STS: ststest over HTTP, with the real sts
// client, on the simulation's clock, with the faults the plan switches on
// and off.
type ststestBackend struct {
	s     *server
	sts   *sts.Client
	mu    sync.Mutex           // guards known
	known map[string]time.Time // expiry by access key ID
}

func newSTSTestBackend(t *testing.T) *ststestBackend {
	s := newServer(t)
	return &ststestBackend{s: s, known: make(map[string]time.Time), sts: provider.NewSTSClient(s.srv.Config(nil))}
}

func (b *ststestBackend) name() string               { return "ststest over HTTP" }
func (b *ststestBackend) setClock(clk clock.Clock)   { b.s.setClock(clk, 0) }
func (b *ststestBackend) client() provider.STSClient { return b.sts }
func (b *ststestBackend) role() string               { return b.s.role }
func (b *ststestBackend) requests() int              { return b.s.calls() }

func (b *ststestBackend) mint(now time.Time) string {
	return b.s.srv.MintToken(ststest.Claims{Subject: subject, Expiry: now.Add(tokenLife), IssuedAt: now})
}

func (b *ststestBackend) stsDown(d bool) {
	if d {
		b.s.srv.Fail(assume, ststest.Fault{Times: -1})
	} else {
		b.s.srv.ClearFaults(assume)
	}
}

func (b *ststestBackend) idpDown(d bool) {
	if d {
		b.s.srv.Fail(ststest.ActionJWKS, ststest.Fault{Times: -1})
	} else {
		b.s.srv.ClearFaults(ststest.ActionJWKS)
	}
}

func (b *ststestBackend) throttle(n int) {
	b.s.srv.Fail(assume, ststest.Fault{Code: "Throttling", Times: n})
}

func (b *ststestBackend) expiry(id string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.known[id]; ok {
		return e, true
	}
	for _, sess := range b.s.srv.Sessions() {
		b.known[sess.AccessKeyID] = sess.Expiration
	}
	e, ok := b.known[id]
	return e, ok
}
