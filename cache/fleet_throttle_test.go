package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// Issue 13: a fleet of pods against an STS that throttles, awsoidc (a
// provider.Provider behind a Cache) and the SDK (stscreds'
// WebIdentityRoleProvider with the sts client's default retryer) side by
// side in one run.
//
// Everything is real but the network: each pod has its own sts.Client
// (so its own SDK retryer, retry quota and client-side rate limiter),
// signed tokens are verified by ststest, and requests go through
// ststest.Server.Transport, in memory, inside a testing/synctest bubble:
// every wait (the SDK's retry backoff, ours, the cache's, the caller's
// deadline) is virtual, so 24 h take seconds. ststest's token bucket
// (Server.Throttle) runs on the same virtual clock.
//
// Each pod is the program the SDK wraps: its credentials are wrapped in an
// aws.CredentialsCache, as config.LoadDefaultConfig does, and it makes an
// AWS call whenever the wrapper has to ask for credentials, each call with
// a deadline of fleetCallDeadline; a call that fails is made again a second
// later. Within one virtual instant the order in which pods reach the
// bucket is the scheduler's, and the SDK draws its jitter from crypto/rand,
// so the figures vary a little between runs: the assertions are bounds.
const (
	fleetBurst         = 100
	fleetCallDeadline  = 30 * time.Second
	fleetRollPerMin    = 1000 // pods restarted per minute in a rolling restart
	fleetThrottleRace  = 200  // pods without AWSOIDC_FULL_FIGURES under -race
	fleetThrottleScale = 10   // without AWSOIDC_FULL_FIGURES: pods divided by it
)

// throttleScenario is one simulated run.
type throttleScenario struct {
	name    string
	pods    int
	rate    float64 // STS requests per second of the bucket
	burst   int
	spacing time.Duration // between pod starts: 0 all at once
	span    time.Duration // simulated time after the first start; 0: until every pod holds credentials
}

// throttleResult is what one implementation measured in a scenario.
type throttleResult struct {
	impl           string
	allAt          time.Duration // from the first start until every pod holds credentials
	firstFailed    int           // pods whose first call failed (deadline fleetCallDeadline)
	sent, throttle int64         // STS requests during the start, and those throttled
	// From one hour after every pod held credentials to the end of span:
	steadySent, steadyThrottled int64
	steadyFailed                int64 // AWS calls that got no credentials
	steadyHours                 float64
}

// countingTransport counts requests and throttled answers (the only 400s
// in these runs).
type countingTransport struct {
	rt             http.RoundTripper
	sent, throttle atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.sent.Add(1)
	resp, err := c.rt.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusBadRequest {
		c.throttle.Add(1)
	}
	return resp, err
}

// staticToken is an stscreds.IdentityTokenRetriever.
type staticToken string

func (s staticToken) GetIdentityToken() ([]byte, error) { return []byte(s), nil }

// runThrottleScenario runs sc for one implementation ("awsoidc" or "sdk").
func runThrottleScenario(t *testing.T, sc throttleScenario, impl string) throttleResult {
	t.Helper()
	srv := ststest.NewServer() // outside the bubble: its listener must not be in it
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{Name: "fleet"})
	res := throttleResult{impl: impl}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		end := start.Add(sc.span)
		srv.Throttle(ststest.RateLimit{Rate: sc.rate, Burst: sc.burst})
		tok := staticToken(srv.MintToken(ststest.Claims{Expiry: start.Add(sc.span + 48*time.Hour)}))
		ct := &countingTransport{rt: srv.Transport()}
		httpClient := &http.Client{Transport: ct}

		var (
			mu       sync.Mutex
			gotAt    = make([]time.Duration, sc.pods)
			firstBad int
			wg       sync.WaitGroup
			steadyAt = make(chan time.Time, 1) // when the steady part starts
		)
		var steadyFrom atomic.Pointer[time.Time]
		var steadyFailed atomic.Int64
		var held atomic.Int64
		var closers []func()
		for i := range sc.pods {
			client := sts.NewFromConfig(srv.Config(nil), func(o *sts.Options) { o.HTTPClient = httpClient })
			var creds aws.CredentialsProvider
			switch impl {
			case "awsoidc":
				p, err := provider.New(client, roleARN, tokensource.Static(string(tok)), func(o *provider.Options) {
					o.RoleSessionName = "pod"
					o.Rand = rand.New(rand.NewPCG(fleetSeed, uint64(2*i))).Float64
				})
				if err != nil {
					t.Fatal(err)
				}
				c := New(p, func(o *Options) { o.Rand = rand.New(rand.NewPCG(fleetSeed, uint64(2*i+1))).Float64 })
				closers = append(closers, func() { _ = c.Close() })
				creds = aws.NewCredentialsCache(c)
			default:
				creds = aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(client, roleARN, tok, func(o *stscreds.WebIdentityRoleOptions) {
					o.RoleSessionName = "pod"
				}))
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * sc.spacing)
				first, holding := true, false
				for {
					now := time.Now()
					if sc.span > 0 && !now.Before(end) || sc.span == 0 && holding {
						return
					}
					ctx, cancel := context.WithTimeout(context.Background(), fleetCallDeadline)
					c, err := creds.Retrieve(ctx)
					cancel()
					if first && err != nil {
						mu.Lock()
						firstBad++
						mu.Unlock()
					}
					first = false
					if err != nil {
						if from := steadyFrom.Load(); from != nil && !now.Before(*from) {
							steadyFailed.Add(1)
						}
						time.Sleep(time.Second)
						continue
					}
					if !holding {
						holding = true
						gotAt[i] = time.Since(start)
						if held.Add(1) == int64(sc.pods) {
							steadyAt <- time.Now()
						}
					}
					// The wrapper asks for credentials again once they expire.
					time.Sleep(max(time.Until(c.Expires), time.Second))
				}
			}()
		}
		var all time.Time
		var sentAtAll, thrAtAll int64
		var sentSteady, thrSteady int64
		func() {
			all = <-steadyAt
			sentAtAll, thrAtAll = ct.sent.Load(), ct.throttle.Load()
			if sc.span == 0 {
				return
			}
			from := all.Add(time.Hour)
			steadyFrom.Store(&from)
			time.Sleep(time.Until(from))
			sentSteady, thrSteady = ct.sent.Load(), ct.throttle.Load()
		}()
		wg.Wait()
		for _, c := range closers {
			c()
		}
		res.allAt = slices.Max(gotAt)
		res.firstFailed = firstBad
		res.sent, res.throttle = sentAtAll, thrAtAll
		if sc.span > 0 {
			res.steadySent = ct.sent.Load() - sentSteady
			res.steadyThrottled = ct.throttle.Load() - thrSteady
			res.steadyFailed = steadyFailed.Load()
			res.steadyHours = end.Sub(all.Add(time.Hour)).Hours()
		}
	})
	return res
}

// TestFleetThrottled prints the table of issue 13 and asserts what
// awsoidc must reach, and that it does better than the SDK: every pod
// holds credentials within 1.2× of the time the bucket alone needs
// (pods/rate), with fewer STS requests and fewer first calls failed than
// the SDK's pods, and no AWS call without credentials in the steady state.
//
// The fleet is fleetSize / fleetThrottleScale pods (fleetThrottleRace
// under -race) and the steady state runs 3 h; with AWSOIDC_FULL_FIGURES=1
// (as CI runs it) the steady state runs to 24 h. AWSOIDC_FLEET_PODS=10000
// runs the fleet of 10,000 pods: it takes long (most of it
// simulating the SDK's pods, which at 10/s send millions of requests),
// so no CI step runs it. The comparisons are asserted where the bucket
// alone needs 100 s or more (10/s with 1,000 pods, both rates with
// 10,000): a bucket that serves the fleet in a few seconds is over before
// any retry schedule matters.
//
//	go test -run '^TestFleetThrottled$' -v ./cache/
//	AWSOIDC_FLEET_PODS=10000 go test -run '^TestFleetThrottled$' -timeout 0 -v ./cache/
func TestFleetThrottled(t *testing.T) {
	pods, span := fleetSize/fleetThrottleScale, 3*time.Hour
	if benchRaceEnabled {
		pods = fleetThrottleRace
	}
	if fullFigures() {
		span = fleetSpan
	}
	if v := os.Getenv("AWSOIDC_FLEET_PODS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("AWSOIDC_FLEET_PODS=%q: want a number of pods", v)
		}
		pods = n
	}
	spacing := time.Minute / fleetRollPerMin
	scenarios := []throttleScenario{
		{name: "cold start", pods: pods, rate: 50, burst: fleetBurst, span: span},
		{name: "cold start", pods: pods, rate: 10, burst: fleetBurst},
		{name: "rolling restart", pods: pods, rate: 50, burst: fleetBurst, spacing: spacing},
		{name: "rolling restart", pods: pods, rate: 10, burst: fleetBurst, spacing: spacing},
	}
	var table []string
	for _, sc := range scenarios {
		ours := runThrottleScenario(t, sc, "awsoidc")
		sdk := runThrottleScenario(t, sc, "sdk")
		rows := throttleRows(sc, ours, sdk)
		t.Log("\n" + strings.Join(rows, "\n")) // as it comes: the full figures take long
		table = append(table, rows...)

		bucket := time.Duration(float64(sc.pods) / sc.rate * float64(time.Second))
		if sc.spacing > 0 {
			bucket = max(bucket, time.Duration(sc.pods-1)*sc.spacing)
		}
		if sc.span > 0 && (ours.steadyFailed > 0 || ours.steadyThrottled > 0) {
			t.Errorf("%s: awsoidc steady state: %d AWS calls failed, %d STS requests throttled; want none", sc.name, ours.steadyFailed, ours.steadyThrottled)
		}
		if bucket < 100*time.Second {
			continue // the bucket serves the fleet before any schedule matters
		}
		if limit := time.Duration(1.2 * float64(bucket)); ours.allAt > limit {
			t.Errorf("%s: awsoidc: every pod held credentials after %s; want ≤ 1.2 × %s", sc.name, ours.allAt, bucket)
		}
		if ours.sent > sdk.sent {
			t.Errorf("%s: awsoidc sent %d STS requests, the SDK %d; want no more", sc.name, ours.sent, sdk.sent)
		}
		if ours.firstFailed > sdk.firstFailed {
			t.Errorf("%s: awsoidc: %d first calls failed, the SDK %d; want no more", sc.name, ours.firstFailed, sdk.firstFailed)
		}
	}
	t.Log("\n" + throttleHeader() + strings.Join(table, "\n"))
}

func throttleHeader() string {
	return "| scenario | pods | impl | all pods hold credentials | ×(pods/rate) | first calls failed (30 s) | STS requests | throttled | steady: STS/pod/day | steady: throttled | steady: failed AWS calls |\n" +
		"|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
}

func throttleRows(sc throttleScenario, rs ...throttleResult) []string {
	var rows []string
	bucket := float64(sc.pods) / sc.rate
	for _, r := range rs {
		steady := "–"
		steadyThr, steadyFail := "–", "–"
		if r.steadyHours > 0 {
			steady = fmt.Sprintf("%.1f", float64(r.steadySent)/float64(sc.pods)/r.steadyHours*24)
			steadyThr = fmt.Sprintf("%d", r.steadyThrottled)
			steadyFail = fmt.Sprintf("%d", r.steadyFailed)
		}
		rows = append(rows, fmt.Sprintf("| %s, %g/s burst %d | %d | %s | %s | %.2f | %.1f %% | %d | %d (%.1f %%) | %s | %s | %s |",
			sc.name, sc.rate, sc.burst, sc.pods, r.impl, r.allAt.Round(time.Second), r.allAt.Seconds()/bucket,
			100*float64(r.firstFailed)/float64(sc.pods), r.sent, r.throttle, 100*float64(r.throttle)/float64(max(r.sent, 1)),
			steady, steadyThr, steadyFail))
	}
	return rows
}
