package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/clock"
)

// Benchmark 1 of issue 3: the Retrieve hot path, serial and parallel, for
// the floor, cache.Cache and the SDK's aws.CredentialsCache, in one run:
//
//	go test -run '^$' -bench BenchmarkRetrieve -benchmem -count 6 ./cache/
//
// Targets: 0 allocs, faster than the SDK, within 1.10x of the floor.

// floor is the least a cache's hot path can do: an atomic pointer load and
// a time.Now() compare, returning the credentials.
type floor struct {
	p atomic.Pointer[aws.Credentials]
}

//go:noinline
func (f *floor) Retrieve(context.Context) (aws.Credentials, error) {
	if c := f.p.Load(); c != nil && time.Now().Before(c.Expires) {
		return *c, nil
	}
	return aws.Credentials{}, errors.New("expired")
}

var benchCreds = aws.Credentials{
	AccessKeyID:     "AKIDBENCH",
	SecretAccessKey: "SECRET-bench",
	SessionToken:    "TOKEN-bench",
	Source:          "bench",
	CanExpire:       true,
}

// benchSink keeps results alive.
var benchSink atomic.Int64

func BenchmarkRetrieve(b *testing.B) {
	ctx := context.Background()
	creds := benchCreds
	creds.Expires = time.Now().Add(24 * time.Hour)
	static := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })

	fl := &floor{}
	fl.p.Store(&creds)
	ours := New(static)
	defer ours.Close()
	sdk := aws.NewCredentialsCache(static)
	for _, p := range []aws.CredentialsProvider{fl, ours, sdk} {
		if _, err := p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}

	// One loop per concrete type, so that no benchmark pays an interface
	// call the others do not.
	b.Run("impl=floor/serial", func(b *testing.B) {
		n := 0
		for b.Loop() {
			c, _ := fl.Retrieve(ctx)
			n += len(c.AccessKeyID)
		}
		benchSink.Add(int64(n))
	})
	b.Run("impl=awsoidc/serial", func(b *testing.B) {
		n := 0
		for b.Loop() {
			c, _ := ours.Retrieve(ctx)
			n += len(c.AccessKeyID)
		}
		benchSink.Add(int64(n))
	})
	b.Run("impl=sdk/serial", func(b *testing.B) {
		n := 0
		for b.Loop() {
			c, _ := sdk.Retrieve(ctx)
			n += len(c.AccessKeyID)
		}
		benchSink.Add(int64(n))
	})
	b.Run("impl=floor/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			n := 0
			for pb.Next() {
				c, _ := fl.Retrieve(ctx)
				n += len(c.AccessKeyID)
			}
			benchSink.Add(int64(n))
		})
	})
	b.Run("impl=awsoidc/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			n := 0
			for pb.Next() {
				c, _ := ours.Retrieve(ctx)
				n += len(c.AccessKeyID)
			}
			benchSink.Add(int64(n))
		})
	})
	b.Run("impl=sdk/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			n := 0
			for pb.Next() {
				c, _ := sdk.Retrieve(ctx)
				n += len(c.AccessKeyID)
			}
			benchSink.Add(int64(n))
		})
	})
}

// TestOutage is figure 3 of issue 3, on a fake clock: after one success
// the provider fails for three hours, longer than the 1-hour credentials
// live, while callers keep calling. Retrieve must succeed until the real
// expiry (100 %) and fail after it, and the provider calls must follow the
// backoff schedule exactly (computed here from the policy), whatever the
// number of callers. Then the provider recovers and so does the cache.
//
//	go test -run TestOutage -v ./cache/
func TestOutage(t *testing.T) {
	const (
		ttl     = time.Hour
		outage  = 3 * time.Hour
		tick    = 5 * time.Second
		callers = 4
		u       = 0.5 // every Rand draw: jitter and backoff, so the schedule is computable
	)
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, ttl)
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.Rand = fixedRand(u) })
	sig := watch(c)
	mustRetrieve(t, c)
	first := evs.next(t)
	expiry := first.Expires
	p.setFail(errSTSDown)
	end := t0.Add(outage)

	// The schedule the policy promises: the first attempt at the refresh
	// moment, then one per backoff step, max(Min, u·min(Max, Min·2^k)),
	// except that while the credentials are valid a step never passes their
	// last chance, 10 s before expiry (so that an STS back shortly before
	// expiry is seen); each at the first tick at or after its time.
	bo := c.in.backoff
	atTick := func(x time.Time) time.Time {
		d := x.Sub(t0)
		return t0.Add((d + tick - 1) / tick * tick)
	}
	lastChance := expiry.Add(-10 * time.Second)
	var schedule []time.Time
	for at, k := atTick(first.NextRefresh), 0; at.Before(end); k++ {
		schedule = append(schedule, at)
		next := at.Add(max(time.Duration(u*float64(bo.Ceiling(k))), bo.Min))
		if at.Before(lastChance) && next.After(lastChance) {
			next = latest(lastChance, at.Add(bo.Min))
		}
		at = atTick(next)
	}
	if !slices.Contains(schedule, lastChance) {
		t.Fatalf("no attempt scheduled at the last chance, +%v: %v", lastChance.Sub(t0), schedule)
	}

	var before, beforeOK, after, afterFailed atomic.Int64
	var attempts []time.Time
	last := p.calls.Load()
	for now := t0.Add(tick); now.Before(end); now = now.Add(tick) {
		clk.Set(now)
		var wg sync.WaitGroup
		for i := 0; i < callers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				creds, err := c.Retrieve(context.Background())
				if now.Before(expiry) {
					before.Add(1)
					if err == nil && creds.AccessKeyID == "AKID1" && !creds.Expires.After(expiry) {
						beforeOK.Add(1)
					}
					return
				}
				after.Add(1)
				if errors.Is(err, errSTSDown) {
					afterFailed.Add(1)
				}
			}()
		}
		wg.Wait()
		// In the advisory window the refresh runs in the background: let
		// it end before time moves on.
		waitFor(t, "the background refresh", sig, func() bool {
			c.in.mu.Lock()
			defer c.in.mu.Unlock()
			return c.in.inflight == nil
		})
		if n := p.calls.Load(); n != last {
			if n != last+1 {
				t.Fatalf("at +%v: %d provider calls in one tick", now.Sub(t0), n-last)
			}
			attempts = append(attempts, now)
			last = n
		}
	}

	t.Logf("outage of %v after one success, 1-hour credentials, %d callers every %v:", outage, callers, tick)
	t.Logf("  before expiry: %d/%d Retrieve succeeded (%.1f %%)", beforeOK.Load(), before.Load(), 100*float64(beforeOK.Load())/float64(before.Load()))
	t.Logf("  after expiry:  %d/%d Retrieve failed with the provider's error", afterFailed.Load(), after.Load())
	t.Logf("  provider calls during the outage: %d (schedule: %d), first at +%v, last gap %v",
		len(attempts), len(schedule), attempts[0].Sub(t0), attempts[len(attempts)-1].Sub(attempts[len(attempts)-2]))
	if beforeOK.Load() != before.Load() {
		t.Errorf("only %d of %d Retrieve before expiry succeeded", beforeOK.Load(), before.Load())
	}
	if afterFailed.Load() != after.Load() {
		t.Errorf("only %d of %d Retrieve after expiry failed", afterFailed.Load(), after.Load())
	}
	if len(attempts) != len(schedule) {
		t.Fatalf("attempts at %v;\nschedule %v", attempts, schedule)
	}
	for i := range attempts {
		if !attempts[i].Equal(schedule[i]) {
			t.Fatalf("attempt %d at +%v; schedule +%v", i, attempts[i].Sub(t0), schedule[i].Sub(t0))
		}
	}

	// Recovery: at the next attempt the cache is back.
	p.setFail(nil)
	next := atTick(clk.Now().Add(bo.Max))
	clk.Set(next)
	if got := mustRetrieve(t, c); got.AccessKeyID == "AKID1" {
		t.Errorf("after recovery: still the old credentials")
	}
}

// TestOutageFleetOfCallers repeats the expired phase with 1,000 concurrent
// callers per step and random jitter: still one provider call per backoff
// step.
func TestOutageFleetOfCallers(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	r := rand.New(rand.NewPCG(3, 4))
	c, evs := newTestCache(t, clk, p, func(o *Options) { o.Rand = r.Float64 })
	p.setFail(errSTSDown)
	for step := 0; step < 5; step++ {
		var wg sync.WaitGroup
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Retrieve(context.Background()); err == nil {
					t.Error("Retrieve succeeded with the provider down")
				}
			}()
		}
		wg.Wait()
		if got := p.calls.Load(); got != int64(step+1) {
			t.Fatalf("step %d: provider calls = %d; want %d", step, got, step+1)
		}
		ev := evs.next(t)
		clk.Set(ev.NextRefresh)
	}
}

// BenchmarkRetrieveInterleaved runs the three hot paths interleaved, in
// chunks of 10,000 calls (per goroutine, GOMAXPROCS goroutines, in the
// parallel case), and reports the fastest chunk of each in ns per call, and
// the ratios to the floor. Taking the best chunk of hundreds makes the
// figures stable on a busy machine, where the separate benchmarks above
// wander with the load:
//
//	go test -run '^$' -bench BenchmarkRetrieveInterleaved ./cache/
func BenchmarkRetrieveInterleaved(b *testing.B) {
	ctx := context.Background()
	creds := benchCreds
	creds.Expires = time.Now().Add(24 * time.Hour)
	static := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	fl := &floor{}
	fl.p.Store(&creds)
	ours := New(static)
	defer ours.Close()
	sdk := aws.NewCredentialsCache(static)
	if _, err := ours.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := sdk.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}

	const chunk = 10000
	// Concrete loops, as in BenchmarkRetrieve.
	loops := [3]func() int{
		func() (n int) {
			for i := 0; i < chunk; i++ {
				c, _ := fl.Retrieve(ctx)
				n += len(c.AccessKeyID)
			}
			return n
		},
		func() (n int) {
			for i := 0; i < chunk; i++ {
				c, _ := ours.Retrieve(ctx)
				n += len(c.AccessKeyID)
			}
			return n
		},
		func() (n int) {
			for i := 0; i < chunk; i++ {
				c, _ := sdk.Retrieve(ctx)
				n += len(c.AccessKeyID)
			}
			return n
		},
	}
	for _, mode := range []struct {
		name       string
		goroutines int
	}{{"serial", 1}, {"parallel", runtime.GOMAXPROCS(0)}} {
		b.Run(mode.name, func(b *testing.B) {
			best := [3]time.Duration{1 << 62, 1 << 62, 1 << 62}
			for b.Loop() {
				for k, loop := range loops {
					start := time.Now()
					if mode.goroutines == 1 {
						benchSink.Add(int64(loop()))
					} else {
						var wg sync.WaitGroup
						for g := 0; g < mode.goroutines; g++ {
							wg.Add(1)
							go func() {
								defer wg.Done()
								benchSink.Add(int64(loop()))
							}()
						}
						wg.Wait()
					}
					best[k] = min(best[k], time.Since(start))
				}
			}
			per := func(d time.Duration) float64 {
				return float64(d.Nanoseconds()) / float64(chunk*mode.goroutines)
			}
			b.ReportMetric(per(best[0]), "floor-ns/call")
			b.ReportMetric(per(best[1]), "awsoidc-ns/call")
			b.ReportMetric(per(best[2]), "sdk-ns/call")
			b.ReportMetric(per(best[1])/per(best[0]), "awsoidc/floor")
			b.ReportMetric(per(best[2])/per(best[0]), "sdk/floor")
			b.ReportMetric(0, "ns/op") // an op is three chunks: not a useful figure
		})
	}
}
