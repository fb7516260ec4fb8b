package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/awsoidc/awsoidc/clock"
)

// loadConfig builds an aws.Config the way users do, with c as the
// credentials provider, isolated from the machine's shared config files and
// environment.
func loadConfig(t *testing.T, p aws.CredentialsProvider, optFns ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	fns := append([]func(*config.LoadOptions) error{
		config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(p),
	}, optFns...)
	cfg, err := config.LoadDefaultConfig(context.Background(), fns...)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
		t.Fatalf("cfg.Credentials is %T; want the SDK's *aws.CredentialsCache around the Cache", cfg.Credentials)
	}
	return cfg
}

// TestSDKNeverBlocksOnProvider proves, through
// config.LoadDefaultConfig(..., config.WithCredentialsProvider(c)), that no
// SDK-side Retrieve waits for the provider while the credentials are valid.
//
// The fake clock runs two days behind the wall clock, so the SDK's
// aws.CredentialsCache (which compares Expires with the wall clock) sees
// every Expires the Cache hands out as past and calls the Cache on every
// Retrieve: the worst case. At each refresh moment the provider blocks
// until the test releases it, after 1,000 SDK calls from 100 goroutines
// have all returned.
func TestSDKNeverBlocksOnProvider(t *testing.T) {
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	start := clk.Now()
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	cfg := loadConfig(t, c)

	sdkRetrieve := func() (aws.Credentials, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cfg.Credentials.Retrieve(ctx)
	}
	if _, err := sdkRetrieve(); err != nil { // cold start: the one wait
		t.Fatal(err)
	}
	ev := evs.next(t)

	const cycles, goroutines, callsEach = 3, 100, 10
	for cycle := 1; cycle <= cycles; cycle++ {
		clk.Set(ev.NextRefresh) // the advisory window starts
		release := p.block()
		p.called = make(chan struct{}, 10)
		want := fmt.Sprintf("AKID%d", cycle)
		var wg sync.WaitGroup
		var bad atomic.Int64
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < callsEach; i++ {
					creds, err := sdkRetrieve()
					if err != nil || creds.AccessKeyID != want || !clk.Now().Before(ev.Expires) {
						bad.Add(1)
						t.Errorf("cycle %d: SDK Retrieve: %v, %q", cycle, err, creds.AccessKeyID)
						return
					}
				}
			}()
		}
		wg.Wait() // the provider is still blocked: no call waited for it
		<-p.called
		if got := p.calls.Load(); got != int64(cycle+1) {
			t.Errorf("cycle %d: provider calls = %d; want %d (one per refresh)", cycle, got, cycle+1)
		}
		release()
		ev = evs.next(t)
		if ev.Outcome != OutcomeFetched {
			t.Fatalf("cycle %d: refresh: %+v", cycle, ev)
		}
		creds, err := sdkRetrieve()
		if err != nil || creds.AccessKeyID != fmt.Sprintf("AKID%d", cycle+1) {
			t.Fatalf("cycle %d: after the refresh the SDK got %q, %v", cycle, creds.AccessKeyID, err)
		}
		if bad.Load() > 0 {
			t.FailNow()
		}
	}
	if n := c.in.waited.Load(); n != 1 {
		t.Errorf("Cache callers that waited for the provider = %d; want 1 (the cold start)", n)
	}
	t.Logf("%d refreshes over %v of fake time, %d SDK calls: %d provider calls, %d waited (cold start)",
		cycles, clk.Now().Sub(start), cycles*goroutines*callsEach, p.calls.Load(), c.in.waited.Load())

	// Static stability through the wrapper: STS fails from the mandatory
	// window on; the SDK keeps getting valid credentials until they
	// expire, then the error.
	p.setFail(errSTSDown)
	clk.Set(ev.Expires.Add(-4 * time.Minute))
	creds, err := sdkRetrieve()
	if err != nil || creds.AccessKeyID != fmt.Sprintf("AKID%d", cycles+1) || creds.Expires.After(ev.Expires) {
		t.Fatalf("mandatory window, STS down: %q (expires %v), %v; want the cached credentials", creds.AccessKeyID, creds.Expires, err)
	}
	clk.Set(ev.Expires)
	if _, err := sdkRetrieve(); !errors.Is(err, errSTSDown) {
		t.Fatalf("after expiry, STS down: %v; want the provider's error", err)
	}
}

// countingCache counts the SDK's calls into a Cache. Embedding keeps the
// Cache's optional SDK interfaces visible.
type countingCache struct {
	*Cache
	n atomic.Int64
}

func (cc *countingCache) Retrieve(ctx context.Context) (aws.Credentials, error) {
	cc.n.Add(1)
	return cc.Cache.Retrieve(ctx)
}

// TestSDKCachesUntilRefreshMoment: with the fake clock on the wall clock,
// the SDK's cache holds the credentials until the refresh moment the Cache
// handed out, calling it once, even with an ExpiryWindow of its own
// (AdjustExpiresBy keeps our moment).
func TestSDKCachesUntilRefreshMoment(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name   string
		window time.Duration
	}{{"default", 0}, {"SDK ExpiryWindow 5m", 5 * time.Minute}} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(now)
			p := newTestProvider(clk, time.Hour)
			c, _ := newTestCache(t, clk, p)
			cc := &countingCache{Cache: c}
			var opts []func(*config.LoadOptions) error
			if tt.window > 0 {
				opts = append(opts, config.WithCredentialsCacheOptions(func(o *aws.CredentialsCacheOptions) {
					o.ExpiryWindow = tt.window
				}))
			}
			cfg := loadConfig(t, cc, opts...)
			var creds aws.Credentials
			for i := 0; i < 100; i++ {
				var err error
				if creds, err = cfg.Credentials.Retrieve(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if n := cc.n.Load(); n != 1 {
				t.Errorf("SDK calls into the Cache = %d; want 1", n)
			}
			if want := now.Round(0).Add(45 * time.Minute); !creds.Expires.Equal(want) {
				t.Errorf("Expires seen by the SDK = %v; want the refresh moment %v", creds.Expires, want)
			}
		})
	}

	// Without AdjustExpiresBy, the SDK's window moves the moment earlier:
	// the reason the Cache implements it.
	clk := clock.NewFake(now)
	c, _ := newTestCache(t, clk, newTestProvider(clk, time.Hour))
	cfg := loadConfig(t, aws.CredentialsProviderFunc(c.Retrieve), config.WithCredentialsCacheOptions(func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = 5 * time.Minute
	}))
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Round(0).Add(40 * time.Minute); !creds.Expires.Equal(want) {
		t.Errorf("without AdjustExpiresBy: Expires %v; want %v", creds.Expires, want)
	}
}

// TestSDKServesFromMemoryDuringRefresh: at the refresh moment, the first
// SDK call through config.LoadDefaultConfig starts the refresh and gets the
// old credentials with Expires refreshingHold away, so the SDK's wrapper
// serves every other call from memory while the provider is busy, instead
// of passing each one to the Cache through its singleflight; once the hold
// ends it picks up the new credentials.
//
// The fake clock starts on the wall clock, so the hold (45 minutes ahead in
// fake time) is in the future for the wrapper too.
func TestSDKServesFromMemoryDuringRefresh(t *testing.T) {
	clk := clock.NewFake(time.Now())
	p := newTestProvider(clk, time.Hour)
	c, evs := newTestCache(t, clk, p)
	mustRetrieve(t, c) // the cold start, before the SDK sees the Cache
	ev := evs.next(t)

	clk.Set(ev.NextRefresh) // the advisory window starts
	release := p.block()
	defer release()
	p.called = make(chan struct{}, 10)
	cc := &countingCache{Cache: c}
	cfg := loadConfig(t, cc)

	const goroutines, callsEach = 100, 10
	hold := ev.NextRefresh.Add(refreshingHold)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range callsEach {
				creds, err := cfg.Credentials.Retrieve(context.Background())
				if err != nil || creds.AccessKeyID != "AKID1" || !creds.Expires.Equal(hold) {
					t.Errorf("SDK Retrieve during the refresh: %q expires %v, %v; want AKID1 until %v", creds.AccessKeyID, creds.Expires, err, hold)
					return
				}
			}
		})
	}
	wg.Wait() // the provider is still blocked: no call waited for it
	<-p.called
	if n := cc.n.Load(); n != 1 {
		t.Errorf("SDK calls into the Cache during the refresh = %d; want 1 (the wrapper serves the other %d from memory)", n, goroutines*callsEach-1)
	}
	if n := p.calls.Load(); n != 2 {
		t.Errorf("provider calls = %d; want 2 (cold start + one refresh)", n)
	}

	release()
	if ev := evs.next(t); ev.Outcome != OutcomeFetched {
		t.Fatalf("refresh: %+v", ev)
	}
	// The hold ends (what the wall clock reaching it does to the wrapper):
	// the next SDK call gets the new credentials.
	clk.Advance(refreshingHold)
	cfg.Credentials.(*aws.CredentialsCache).Invalidate()
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID2" || !creds.Expires.After(clk.Now()) {
		t.Fatalf("after the hold: %q expires %v, %v; want AKID2, fresh", creds.AccessKeyID, creds.Expires, err)
	}
	if n := c.in.waited.Load(); n != 1 {
		t.Errorf("Cache callers that waited = %d; want 1 (the cold start)", n)
	}
}

// TestSDKStrategyInterfaces records the decision of sdk.go: the Cache
// implements aws.AdjustExpiresByCredentialsCacheStrategy and not
// aws.HandleFailRefreshCredentialsCacheStrategy, and its provider sources
// reach the SDK through both caches.
func TestSDKStrategyInterfaces(t *testing.T) {
	web := stscreds.NewWebIdentityRoleProvider(nil, "arn:aws:iam::123456789012:role/r", stscreds.IdentityTokenFile("/dev/null"))
	c := New(web)
	defer c.Close()
	var p aws.CredentialsProvider = c
	if _, ok := p.(aws.AdjustExpiresByCredentialsCacheStrategy); !ok {
		t.Error("Cache does not implement AdjustExpiresByCredentialsCacheStrategy")
	}
	if _, ok := p.(aws.HandleFailRefreshCredentialsCacheStrategy); ok {
		t.Error("Cache implements HandleFailRefreshCredentialsCacheStrategy; see sdk.go for why it must not")
	}
	in := aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S", CanExpire: true, Expires: t0}
	if out, err := c.AdjustExpiresBy(in, -time.Hour); err != nil || out != in {
		t.Errorf("AdjustExpiresBy changed the credentials: %v, %v", out.Expires, err)
	}

	cfg := loadConfig(t, c)
	src, ok := cfg.Credentials.(aws.CredentialProviderSource)
	if !ok {
		t.Fatal("the SDK's cache has no ProviderSources")
	}
	if got, want := fmt.Sprint(src.ProviderSources()), fmt.Sprint(web.ProviderSources()); got != want {
		t.Errorf("ProviderSources through the SDK = %s; want %s", got, want)
	}
	if !aws.IsCredentialsProvider(cfg.Credentials, (*stscreds.WebIdentityRoleProvider)(nil)) {
		t.Error("aws.IsCredentialsProvider does not see the provider through both caches")
	}
}
