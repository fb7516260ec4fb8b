package awsoidc_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/ststest"
)

// chainFigures is what 100 concurrent callers saw at the refresh of a
// chain's last hop: how many waited on STS (took longer than half its
// latency), the slowest, and how many got an error when STS failed.
type chainFigures struct {
	waited, failed int
	slowest        time.Duration
}

const (
	figureCallers    = 100
	figureSTSLatency = 200 * time.Millisecond
)

// callers runs figureCallers concurrent Retrieve calls on cfg and counts
// those slower than half the STS latency, and those that failed.
func callers(cfg aws.Config) chainFigures {
	var (
		mu  sync.Mutex
		fig chainFigures
		wg  sync.WaitGroup
	)
	for range figureCallers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := cfg.Credentials.Retrieve(ctx)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			fig.slowest = max(fig.slowest, d)
			if d > figureSTSLatency/2 {
				fig.waited++
			}
			if err != nil {
				fig.failed++
			}
		})
	}
	wg.Wait()
	return fig
}

// chainProfiles writes a web identity profile ci and a profile admin that
// assumes a role with ci's credentials for 30 minutes (so that the hop
// refreshes before the web identity leg).
func chainProfiles(f *fixture) {
	f.write("config", f.webIdentityProfile()+
		fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = ci\nrole_session_name = admin\nduration_seconds = 1800\n", f.trusting("admin", "", "ci")))
}

// noRetries makes every client of the configuration call once, so that an
// STS failure is seen at once rather than after the SDK retryer's waits
// on the wall clock (the same for both sides).
var noRetries = config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} })

// TestDefaultCredentialsChainFigures measures, in one run, a two-hop chain
// (web identity profile, then AssumeRole) resolved by
// config.LoadDefaultConfig alone and with WithDefaultCredentials, at the
// moment its last hop is refreshed: 100 concurrent callers with STS
// answering AssumeRole in 200 ms, then with AssumeRole failing. The SDK
// refreshes when Expires passes (aws.CredentialsCache's ExpiryWindow set
// beyond the lifetime reaches that moment without waiting for it), so its
// callers wait, then fail; ours refreshes ahead in the background, and
// serves the valid credentials. The figures are in docs/drop-in.md:
//
//	go test -run TestDefaultCredentialsChainFigures -v .
func TestDefaultCredentialsChainFigures(t *testing.T) {
	var sdk, ours struct{ refresh, outage chainFigures }
	var sdkCalls, ourCalls int

	t.Run("SDK", func(t *testing.T) {
		f := newFixture(t)
		chainProfiles(f)
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile("admin"), noRetries,
			config.WithCredentialsCacheOptions(func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = 2 * time.Hour }))
		if err != nil {
			t.Fatal(err)
		}
		sdkRetrieve(t, cfg)
		f.srv.SetLatency(ststest.Action("AssumeRole"), figureSTSLatency)
		before := f.srv.Calls(ststest.Action("AssumeRole"))
		sdk.refresh = callers(cfg)
		sdkCalls = f.srv.Calls(ststest.Action("AssumeRole")) - before
		f.srv.SetLatency(ststest.Action("AssumeRole"), 0)
		f.srv.Fail(ststest.Action("AssumeRole"), ststest.Fault{Code: "InternalFailure", Times: -1})
		sdk.outage = callers(cfg)
	})

	t.Run("ours", func(t *testing.T) {
		clk := clock.NewFake(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
		f := newFixture(t, func(o *ststest.Options) { o.Now = clk.Now })
		f.write("token", f.srv.MintToken(ststest.Claims{Subject: fixtureSubject, Expiry: clk.Now().Add(24 * time.Hour)}))
		chainProfiles(f)
		opt, events := refreshing(clk)
		cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials(opt), config.WithSharedConfigProfile("admin"), noRetries)
		if err != nil {
			t.Fatal(err)
		}
		sdkRetrieve(t, cfg)
		// Two caches refreshed: the web identity leg, then the hop (the
		// shorter-lived, so the first to refresh again).
		web, hop := nextEvent(t, events), nextEvent(t, events)
		if !hop.NextRefresh.Before(web.NextRefresh) {
			t.Fatalf("the hop refreshes at %v, after the web identity leg at %v", hop.NextRefresh, web.NextRefresh)
		}
		clk.Set(hop.NextRefresh)
		f.srv.SetLatency(ststest.Action("AssumeRole"), figureSTSLatency)
		before := f.srv.Calls(ststest.Action("AssumeRole"))
		ours.refresh = callers(cfg)
		ev := nextEvent(t, events)
		if ev.Outcome.String() != "fetched" {
			t.Fatalf("hop refresh: %v (%v)", ev.Outcome, ev.Err)
		}
		ourCalls = f.srv.Calls(ststest.Action("AssumeRole")) - before
		f.srv.SetLatency(ststest.Action("AssumeRole"), 0)
		f.srv.Fail(ststest.Action("AssumeRole"), ststest.Fault{Code: "InternalFailure", Times: -1})
		clk.Set(ev.Expires.Add(-2 * time.Minute)) // the mandatory window: the refresh cannot wait any more
		ours.outage = callers(cfg)
	})

	table := fmt.Sprintf("\n| %d callers at the hop's refresh | SDK | WithDefaultCredentials |\n|---|---|---|\n"+
		"| waited on STS (AssumeRole answering in %v) | %d | %d |\n| slowest caller | %v | %v |\n| AssumeRole calls | %d | %d |\n"+
		"| failed, AssumeRole failing | %d | %d |\n",
		figureCallers, figureSTSLatency, sdk.refresh.waited, ours.refresh.waited,
		sdk.refresh.slowest.Round(time.Millisecond), ours.refresh.slowest.Round(time.Microsecond),
		sdkCalls, ourCalls, sdk.outage.failed, ours.outage.failed)
	t.Log(table)
	if ours.refresh.waited != 0 || ours.refresh.failed != 0 || ours.outage.failed != 0 || ourCalls != 1 {
		t.Errorf("ours: %d waited, %d failed at the refresh, %d failed in the outage, %d AssumeRole calls; want 0, 0, 0, 1",
			ours.refresh.waited, ours.refresh.failed, ours.outage.failed, ourCalls)
	}
	if sdk.refresh.waited == 0 || sdk.outage.failed == 0 {
		t.Errorf("SDK: %d waited, %d failed in the outage; the comparison needs the SDK's callers to wait and fail at its refresh", sdk.refresh.waited, sdk.outage.failed)
	}
}
