package awsoidc_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
)

// refreshing returns options that put every cache of the chain and the web
// identity provider on clk, without jitter and without provider retries,
// and report every refresh on the returned channel.
func refreshing(clk *clock.Fake) (func(*awsoidc.Options), <-chan cache.RefreshEvent) {
	events := make(chan cache.RefreshEvent, 64)
	return func(o *awsoidc.Options) {
		o.Provider = append(o.Provider, func(po *provider.Options) {
			po.Clock = clk
			po.MaxAttempts = 1
		})
		o.Cache = append(o.Cache, func(co *cache.Options) {
			co.Clock = clk
			co.Jitter = cache.NoJitter
			co.OnRefresh = func(ev cache.RefreshEvent) { events <- ev }
		})
	}, events
}

func nextEvent(t *testing.T, events <-chan cache.RefreshEvent) cache.RefreshEvent {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no refresh within 10 s")
		return cache.RefreshEvent{}
	}
}

// sdkRetrieve retrieves through cfg.Credentials, the SDK's
// aws.CredentialsCache around ours, as every SDK call does.
func sdkRetrieve(t *testing.T, cfg aws.Config) aws.Credentials {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve() = %v", err)
	}
	return creds
}

// TestDefaultCredentialsWebIdentityNeverWaits resolves a profile's web
// identity through LoadDefaultConfig and proves that while STS hangs in the
// advisory window, 100 concurrent SDK-side Retrieve calls all return the
// cached credentials (none waits on STS), that the one background refresh
// then replaces them, and that through an STS outage in the mandatory
// window the still-valid credentials keep being served, until they expire.
//
// The fake clock runs two days behind the wall clock, so the SDK's
// aws.CredentialsCache (which compares with the wall clock) calls ours on
// every Retrieve: the worst case.
func TestDefaultCredentialsWebIdentityNeverWaits(t *testing.T) {
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	f := newFixture(t, func(o *ststest.Options) { o.Now = clk.Now })
	f.write("token", f.srv.MintToken(ststest.Claims{Subject: fixtureSubject, Expiry: clk.Now().Add(24 * time.Hour)}))
	f.write("config", fmt.Sprintf("[profile ci]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = ci\n", f.role("ci"), f.tokenFile))
	opt, events := refreshing(clk)
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials(opt), config.WithSharedConfigProfile("ci"))
	if err != nil {
		t.Fatal(err)
	}
	first := sdkRetrieve(t, cfg) // the cold start: the one wait
	ev := nextEvent(t, events)

	clk.Set(ev.NextRefresh) // the advisory window
	release := f.srv.Hold(ststest.ActionAssumeRoleWithWebIdentity)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil || creds.AccessKeyID != first.AccessKeyID {
				t.Errorf("Retrieve() in the advisory window = %v, %v; want the cached credentials at once", creds.AccessKeyID == first.AccessKeyID, err)
			}
		})
	}
	wg.Wait() // all returned while STS is held
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.WaitCalls(ctx, ststest.ActionAssumeRoleWithWebIdentity, 2); err != nil {
		t.Fatalf("no background refresh reached STS: %v", err)
	}
	release()
	ev = nextEvent(t, events)
	if ev.Outcome != cache.OutcomeFetched {
		t.Fatalf("background refresh: %v (%v)", ev.Outcome, ev.Err)
	}
	second := sdkRetrieve(t, cfg)
	if second.AccessKeyID == first.AccessKeyID {
		t.Fatal("the refreshed credentials were not served")
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 2 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d; want 2 (one per refresh, whatever the callers)", n)
	}

	// An outage: STS fails every call from the mandatory window on.
	f.srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "InternalFailure", Times: -1})
	clk.Set(ev.Expires.Add(-2 * time.Minute))
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != second.AccessKeyID {
		t.Fatal("valid credentials were not served through the outage")
	}
	if ev := nextEvent(t, events); ev.Outcome != cache.OutcomeFailed || !ev.Stale {
		t.Fatalf("refresh in the outage: outcome %v, stale %v; want a failure served stale", ev.Outcome, ev.Stale)
	}
	clk.Set(ev.Expires.Add(-time.Second))
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != second.AccessKeyID {
		t.Fatal("valid credentials were not served a second before they expire")
	}
	clk.Set(ev.Expires.Add(time.Second))
	if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil {
		t.Fatal("expired credentials were served")
	}
}

// TestDefaultCredentialsContainerRefreshAhead: a leg other than web
// identity (the container endpoint) is behind a cache too: while the
// endpoint hangs in the advisory window, Retrieve returns the cached
// credentials at once, and one background call replaces them.
func TestDefaultCredentialsContainerRefreshAhead(t *testing.T) {
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	f := newFixture(t)
	var (
		mu    sync.Mutex
		calls int
		hold  = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 2 {
			<-hold
		}
		writeJSON(w, map[string]any{
			"AccessKeyId": fmt.Sprintf("AKID%d", n), "SecretAccessKey": "secret", "Token": "session",
			"Expiration": clk.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	defer srv.Close()
	defer close(hold)
	f.t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL)
	opt, events := refreshing(clk)
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials(opt))
	if err != nil {
		t.Fatal(err)
	}
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != "AKID1" {
		t.Fatalf("first credentials %q; want AKID1", got.AccessKeyID)
	}
	clk.Set(nextEvent(t, events).NextRefresh)
	for range 20 {
		if got := sdkRetrieve(t, cfg); got.AccessKeyID != "AKID1" {
			t.Fatalf("credentials %q while the endpoint hangs; want the cached AKID1", got.AccessKeyID)
		}
	}
	hold <- struct{}{}
	if ev := nextEvent(t, events); ev.Outcome != cache.OutcomeFetched {
		t.Fatalf("background refresh: %v (%v)", ev.Outcome, ev.Err)
	}
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != "AKID2" {
		t.Fatalf("credentials %q after the refresh; want AKID2", got.AccessKeyID)
	}
}

// TestDefaultCredentialsContainerTokenScrubbed: an endpoint that echoes the
// authorization token in its error does not put it into our error.
func TestDefaultCredentialsContainerTokenScrubbed(t *testing.T) {
	f := newFixture(t)
	const token = "Bearer s3cr3t-container-token"
	f.container(f.issue("from-container", "container"), "another token")
	f.t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
	// The endpoint echoes the token: the SDK's own error carries it.
	if sdk := resolve(); sdk.err == nil || !strings.Contains(sdk.err.Error(), "s3cr3t") {
		t.Fatalf("SDK error = %v; want the echoed token in it (the endpoint must echo it)", sdk.err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials())
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if err == nil {
		t.Fatal("Retrieve() succeeded with a refused token")
	}
	// Ours, without the SDK's wrapper, printed after a resolution.
	var lo config.LoadOptions
	ours, derr := awsoidc.DefaultCreds(&lo)
	if derr != nil {
		t.Fatal(derr)
	}
	if _, err := ours.Retrieve(context.Background()); err == nil {
		t.Fatal("Retrieve() succeeded with a refused token")
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err),
		fmt.Sprintf("%v", ours), fmt.Sprintf("%+v", ours), fmt.Sprintf("%#v", ours)} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("the token leaked: %s", s)
		}
	}
	if !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("error %q lost the endpoint's answer", err)
	}
}

// TestDefaultCredentialsIMDSOutage: through an outage of the instance
// metadata service the instance's credentials are served, and then
// extended past their expiry 5 to 15 minutes at a time, as the SDK's
// ec2rolecreds does (EC2 keeps accepting them).
func TestDefaultCredentialsIMDSOutage(t *testing.T) {
	clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	f := newFixture(t)
	issued := f.issue("from-imds", "imds")
	issued.Expires = clk.Now().Add(time.Hour)
	down := f.imds(issued)
	opt, events := refreshing(clk)
	// One attempt per refresh: the metadata client's default retryer would
	// wait between its attempts on the wall clock.
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials(opt),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	if err != nil {
		t.Fatal(err)
	}
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != issued.AccessKeyID {
		t.Fatal("the instance's credentials were not served")
	}
	nextEvent(t, events)
	down.Store(true)
	clk.Set(issued.Expires.Add(-10 * time.Minute)) // the advisory window: the cache serves them itself
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != issued.AccessKeyID {
		t.Fatal("valid credentials were not served through the outage")
	}
	if ev := nextEvent(t, events); ev.Outcome != cache.OutcomeFailed || !ev.Stale {
		t.Fatalf("refresh 10 minutes before expiry: outcome %v, stale %v; want a failure served stale", ev.Outcome, ev.Stale)
	}
	clk.Set(issued.Expires.Add(-2 * time.Minute)) // within 5 minutes of expiry: extended
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != issued.AccessKeyID {
		t.Fatal("credentials about to expire were not extended")
	}
	ev := nextEvent(t, events)
	if ev.Outcome != cache.OutcomeFetched || ev.Expires.Before(clk.Now().Add(5*time.Minute)) || !ev.Expires.Before(clk.Now().Add(15*time.Minute)) {
		t.Fatalf("extension: outcome %v, expires in %v; want 5 to 15 minutes", ev.Outcome, ev.Expires.Sub(clk.Now()))
	}
	clk.Set(issued.Expires.Add(time.Minute)) // past the service's expiry
	if got := sdkRetrieve(t, cfg); got.AccessKeyID != issued.AccessKeyID {
		t.Fatal("the extended credentials were not served past the original expiry")
	}
}
