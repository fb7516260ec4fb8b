package awsoidc_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// The figures of docs/chains.md, every column in one run: a chain of web
// identity and one AssumeRole hop, built by awsoidc (Options.Chain, wrapped
// in an aws.CredentialsCache as config.LoadDefaultConfig wraps it) and by
// the SDK alone (stscreds.NewWebIdentityRoleProvider in an
// aws.CredentialsCache signing stscreds.NewAssumeRoleProvider in an
// aws.CredentialsCache, as config builds a source_profile chain), with the
// SDK cache's default ExpiryWindow (0) and with 5 minutes.
//
// Each stack has its own ststest server, reached with the real sts client
// through ststest's in-memory transport plus figLatency of virtual latency
// per request, inside a testing/synctest bubble: hours run in
// milliseconds, and a Retrieve that waits on STS takes virtual time while
// one served from a cache takes none. figCallers callers call Retrieve
// together every figEvery for figRun, as the handlers of concurrent
// requests do. Sessions last 1 hour (the STS default, and
// the cap of a chained session). From figOutageStart to figOutageEnd, STS
// answers every request of both actions with ServiceUnavailable: the
// outage starts 5 minutes before the first hop credentials expire. Both
// stacks keep their default retries (the SDK's STS client: 3 attempts with
// its jittered backoff; ours: the same client's for the hop, the
// provider's for web identity); our caches run without jitter
// (cache.NoJitter) so the run is deterministic.
const (
	figCallers     = 20
	figEvery       = 10 * time.Second
	figRun         = 3 * time.Hour
	figLatency     = 100 * time.Millisecond
	figOutageStart = 55 * time.Minute
	figOutageEnd   = 80 * time.Minute
)

// figures is what one stack did.
type figures struct {
	cold                              int           // calls started before the first credentials arrived
	calls, waited, failed             int           // the others outside the outage
	longest                           time.Duration // outside the outage
	outCalls, outWaited, outFailed    int           // calls started during the outage
	outLongest                        time.Duration
	assumeRole, assumeRoleWebIdentity int // STS requests, outage included
}

// TestChainFigures prints the table of docs/chains.md and asserts
// awsoidc's column: no caller waits on STS and none fails, outage
// included.
//
//	go test -run TestChainFigures -v .
func TestChainFigures(t *testing.T) {
	stacks := []struct {
		name  string
		build func(srv *ststest.Server, client *sts.Client, pod, target, token string) aws.CredentialsProvider
	}{
		{"awsoidc (Options.Chain)", buildOurs},
		{"SDK chain, ExpiryWindow 0", buildSDK(0)},
		{"SDK chain, ExpiryWindow 5m", buildSDK(5 * time.Minute)},
	}
	got := make([]figures, len(stacks))
	for i, st := range stacks {
		srv := ststest.NewServer() // outside the bubble: its listener must not be in it
		t.Cleanup(srv.Close)
		synctest.Test(t, func(t *testing.T) {
			got[i] = runFigures(t, srv, st.build)
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d callers every %s for %s; STS down (ServiceUnavailable) from %s to %s\n", figCallers, figEvery, figRun, figOutageStart, figOutageEnd)
	fmt.Fprintf(&b, "| | %s | %s | %s |\n|---|---|---|---|\n", stacks[0].name, stacks[1].name, stacks[2].name)
	row := func(label string, f func(figures) string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", label, f(got[0]), f(got[1]), f(got[2]))
	}
	row("calls at the cold start (no credentials yet)", func(f figures) string { return fmt.Sprint(f.cold) })
	row("calls outside the outage", func(f figures) string { return fmt.Sprint(f.calls) })
	row("… that waited on STS", func(f figures) string { return fmt.Sprint(f.waited) })
	row("… longest wait", func(f figures) string { return f.longest.String() })
	row("… that failed", func(f figures) string { return fmt.Sprint(f.failed) })
	row("calls during the outage", func(f figures) string { return fmt.Sprint(f.outCalls) })
	row("… that waited on STS", func(f figures) string { return fmt.Sprint(f.outWaited) })
	row("… longest wait", func(f figures) string { return f.outLongest.String() })
	row("… that failed", func(f figures) string { return fmt.Sprint(f.outFailed) })
	row("STS AssumeRole requests", func(f figures) string { return fmt.Sprint(f.assumeRole) })
	row("STS AssumeRoleWithWebIdentity requests", func(f figures) string { return fmt.Sprint(f.assumeRoleWebIdentity) })
	t.Log("\n" + b.String())

	ours := got[0]
	if ours.waited != 0 || ours.failed != 0 || ours.outWaited != 0 || ours.outFailed != 0 {
		t.Errorf("awsoidc: %+v; want no caller waiting on STS and none failing", ours)
	}
	if ours.calls == 0 || ours.outCalls == 0 || ours.assumeRole == 0 {
		t.Errorf("awsoidc: %+v; the run made no calls", ours)
	}
}

// runFigures runs the callers and the outage against one stack.
func runFigures(t *testing.T, srv *ststest.Server, build func(*ststest.Server, *sts.Client, string, string, string) aws.CredentialsProvider) figures {
	pod := srv.AddRole(ststest.Role{Name: "pod"})
	target := srv.AddRole(ststest.Role{ARN: "arn:aws:iam::444455556666:role/target", TrustedPrincipals: []string{pod}})
	token := srv.MintToken(ststest.Claims{Expiry: time.Now().Add(24 * time.Hour)})
	client := srv.STSClient(func(o *sts.Options) {
		o.HTTPClient = &http.Client{Transport: slowTransport{srv.Transport()}}
	})
	creds := build(srv, client, pod, target, token)

	start := time.Now()
	var (
		mu sync.Mutex
		f  figures
		wg sync.WaitGroup
		// warm is set once a first Retrieve has returned credentials:
		// calls started before that (a cold start) wait on every stack.
		warm atomic.Bool
	)
	wg.Go(func() {
		time.Sleep(figOutageStart)
		for _, a := range []ststest.Action{ststest.ActionAssumeRole, ststest.ActionAssumeRoleWithWebIdentity} {
			srv.Fail(a, ststest.Fault{Code: "ServiceUnavailable", Times: -1})
		}
		time.Sleep(figOutageEnd - figOutageStart)
		srv.ClearFaults(ststest.ActionAssumeRole)
		srv.ClearFaults(ststest.ActionAssumeRoleWithWebIdentity)
	})
	for range figCallers {
		wg.Go(func() {
			for time.Since(start) < figRun {
				began := time.Now()
				wasWarm := warm.Load()
				_, err := creds.Retrieve(context.Background())
				d := time.Since(began)
				at := began.Sub(start)
				mu.Lock()
				if !wasWarm {
					f.cold++
				} else if at >= figOutageStart && at < figOutageEnd {
					f.outCalls++
					f.outLongest = max(f.outLongest, d)
					if d > 0 {
						f.outWaited++
					}
					if err != nil {
						f.outFailed++
					}
				} else {
					f.calls++
					f.longest = max(f.longest, d)
					if d > 0 {
						f.waited++
					}
					if err != nil {
						f.failed++
					}
				}
				mu.Unlock()
				if err == nil {
					warm.Store(true)
				}
				time.Sleep(figEvery - d%figEvery)
			}
		})
	}
	wg.Wait()
	f.assumeRole = srv.Calls(ststest.ActionAssumeRole)
	f.assumeRoleWebIdentity = srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
	return f
}

// slowTransport adds figLatency of (virtual) time to every request.
type slowTransport struct{ next http.RoundTripper }

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(figLatency)
	return s.next.RoundTrip(r)
}

// buildOurs is WithWebIdentity with one hop, its cache wrapped in an
// aws.CredentialsCache as config.LoadDefaultConfig wraps it.
func buildOurs(_ *ststest.Server, client *sts.Client, pod, target, token string) aws.CredentialsProvider {
	var lo config.LoadOptions
	err := awsoidc.WithWebIdentity(pod, tokensource.Static(token), func(o *awsoidc.Options) {
		o.STSClient = client
		o.Cache = append(o.Cache, func(co *cache.Options) { co.Jitter = cache.NoJitter })
		o.Chain = []provider.Hop{{RoleARN: target}}
	})(&lo)
	if err != nil {
		panic(err)
	}
	return aws.NewCredentialsCache(lo.Credentials)
}

// buildSDK is the SDK's own chain, its caches with the given ExpiryWindow.
func buildSDK(window time.Duration) func(*ststest.Server, *sts.Client, string, string, string) aws.CredentialsProvider {
	return func(_ *ststest.Server, client *sts.Client, pod, target, token string) aws.CredentialsProvider {
		opts := func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = window }
		wi := aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(client, pod, staticToken(token)), opts)
		hopClient := sts.New(client.Options(), func(o *sts.Options) { o.Credentials = wi })
		// 1-hour sessions as ours (the SDK's AssumeRoleProvider asks for 15
		// minutes by default).
		hop := stscreds.NewAssumeRoleProvider(hopClient, target, func(o *stscreds.AssumeRoleOptions) { o.Duration = time.Hour })
		return aws.NewCredentialsCache(hop, opts)
	}
}

// staticToken is an stscreds.IdentityTokenRetriever.
type staticToken string

func (s staticToken) GetIdentityToken() ([]byte, error) { return []byte(s), nil }
