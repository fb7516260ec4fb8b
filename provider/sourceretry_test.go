package provider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestRetrieveRetriesRetryableTokenSourceFailures runs the provider with the
// real GCP source against a local metadata server (GCE_METADATA_HOST) and
// the real STS client against ststest, on a fake clock: the failures the
// source marks retryable (429, 5xx) are retried up to MaxAttempts token
// requests, at least a Retry-After apart, never past ctx's deadline; the
// others (403, a page that is no token) are not.
func TestRetrieveRetriesRetryableTokenSourceFailures(t *testing.T) {
	const maxAttempts = 3
	type answer struct {
		status     int    // 0: the token
		retryAfter string // the Retry-After header, if any
		body       string
	}
	unavailable := answer{status: http.StatusServiceUnavailable, body: "metadata server starting"}
	for _, tc := range []struct {
		name       string
		answers    []answer // the last one repeats
		deadline   time.Duration
		wantReqs   int
		wantErr    bool
		wantClass  provider.Class
		wantRetry  bool          // IsRetryable of the error
		wantStatus int           // the StatusError reachable in the error
		minWait    time.Duration // fake time Retrieve must have waited, at least
	}{
		{name: "503 twice then a token", answers: []answer{unavailable, unavailable, {}}, wantReqs: 3},
		{name: "429 Retry-After 1", answers: []answer{{status: http.StatusTooManyRequests, retryAfter: "1"}, {}}, wantReqs: 2, minWait: time.Second},
		{name: "503 always", answers: []answer{unavailable}, wantReqs: maxAttempts, wantErr: true,
			wantClass: provider.ClassTokenSource, wantRetry: true, wantStatus: http.StatusServiceUnavailable},
		{name: "429 Retry-After past the deadline", answers: []answer{{status: http.StatusTooManyRequests, retryAfter: "30"}, {}}, deadline: 10 * time.Second,
			wantReqs: 1, wantErr: true, wantClass: provider.ClassTokenSource, wantRetry: true, wantStatus: http.StatusTooManyRequests},
		{name: "403", answers: []answer{{status: http.StatusForbidden, body: "no service account"}}, wantReqs: 1, wantErr: true,
			wantClass: provider.ClassTokenSource, wantStatus: http.StatusForbidden},
		{name: "malformed", answers: []answer{{body: "<html><body>captive portal</body></html>"}}, wantReqs: 1, wantErr: true,
			wantClass: provider.ClassTokenSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := ststest.NewServer()
			t.Cleanup(srv.Close)
			roleARN := srv.AddRole(ststest.Role{Name: "gke"})
			token := srv.MintToken(ststest.Claims{})
			var reqs atomic.Int32
			metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(reqs.Add(1))
				a := tc.answers[min(n, len(tc.answers))-1]
				w.Header().Set("Metadata-Flavor", "Google")
				if a.retryAfter != "" {
					w.Header().Set("Retry-After", a.retryAfter)
				}
				if a.status != 0 {
					w.WriteHeader(a.status)
				}
				if a.status == 0 && a.body == "" {
					a.body = token
				}
				_, _ = w.Write([]byte(a.body))
			}))
			t.Cleanup(metadata.Close)
			t.Setenv("GCE_METADATA_HOST", metadata.Listener.Addr().String())

			clk := clock.NewFake(time.Now())
			p, err := provider.New(srv.STSClient(), roleARN, tokensource.GCP(""), func(o *provider.Options) {
				o.Clock = clk
				o.MaxAttempts = maxAttempts
				o.MinBackoff = 100 * time.Millisecond
				o.Rand = func() float64 { return 0.5 }
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			waited, err := retrieveOnFakeClock(t, ctx, p, clk)
			if got := int(reqs.Load()); got != tc.wantReqs {
				t.Errorf("token requests = %d, want %d", got, tc.wantReqs)
			}
			if waited < tc.minWait {
				t.Errorf("waited %s of fake time, want at least %s", waited, tc.minWait)
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Retrieve() = %v", err)
				}
				if n := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
					t.Errorf("STS calls = %d, want 1", n)
				}
				return
			}
			re := mustRetrieveError(t, err)
			if re.Class != tc.wantClass || re.Attempts != 0 {
				t.Errorf("error %v: class %s, %d STS calls; want %s, 0", err, re.Class, re.Attempts, tc.wantClass)
			}
			if got := provider.IsRetryable(err); got != tc.wantRetry {
				t.Errorf("IsRetryable(%v) = %t, want %t", err, got, tc.wantRetry)
			}
			var se *tokensource.StatusError
			if gotStatus := errors.As(err, &se); gotStatus != (tc.wantStatus != 0) || gotStatus && se.StatusCode != tc.wantStatus {
				t.Errorf("StatusError in %v: %v, want status %d", err, se, tc.wantStatus)
			}
			if n := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
				t.Errorf("STS calls = %d, want 0", n)
			}
		})
	}
}

// retrieveOnFakeClock runs p.Retrieve(ctx), firing each timer it waits on
// as soon as it is set, and returns the fake time that passed and the
// error.
func retrieveOnFakeClock(t *testing.T, ctx context.Context, p *provider.Provider, clk *clock.Fake) (time.Duration, error) {
	t.Helper()
	bound, cancel := context.WithTimeout(context.Background(), 10*time.Second) // real time, only for a provider that hangs
	defer cancel()
	start := clk.Now()
	done := retrieveAsync(ctx, p)
	for {
		wctx, stop := context.WithCancel(bound)
		waiting := make(chan error, 1)
		go func() { waiting <- clk.WaitForTimers(wctx, 1) }()
		select {
		case err := <-done:
			stop()
			if werr := <-waiting; werr != nil && !errors.Is(werr, context.Canceled) {
				t.Errorf("waiting for timers: %v", werr)
			}
			return clk.Now().Sub(start), err
		case werr := <-waiting:
			stop()
			if werr != nil {
				t.Fatalf("Retrieve neither returned nor waited: %v", werr)
			}
			if next, ok := clk.NextDeadline(); ok {
				clk.Set(next)
			}
		}
	}
}
