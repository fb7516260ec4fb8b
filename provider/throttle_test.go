package provider_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestThrottledRetrieve runs the provider against ststest's token bucket,
// one token every 10 s, over the real STS client in a synctest bubble
// (virtual time, exact), after the bucket was emptied, with Rand 0.99 (each
// wait near its ceiling: 0.99 s, 1.98 s, 3.96 s, 7.92 s, ...).
func TestThrottledRetrieve(t *testing.T) {
	const wait1, wait2, wait3, wait4 = 990 * time.Millisecond, 1980 * time.Millisecond, 3960 * time.Millisecond, 7920 * time.Millisecond
	for _, tc := range []struct {
		name       string
		deadline   time.Duration // 0: none
		retryAfter bool
		rand       float64
		wantErr    bool
		wantCalls  int
		wantTime   time.Duration
	}{
		// Throttled calls do not count against MaxAttempts (2) within a
		// deadline: the fifth call, after 14.85 s, finds a token.
		{name: "deadline: keeps trying", deadline: 30 * time.Second, rand: 0.99, wantCalls: 5, wantTime: wait1 + wait2 + wait3 + wait4},
		// Without a deadline, MaxAttempts bounds them.
		{name: "no deadline: MaxAttempts", rand: 0.99, wantErr: true, wantCalls: 2, wantTime: wait1},
		// No call whose wait would end past the deadline: the error comes
		// at once after the third call (2.97 s), not at 5 s.
		{name: "deadline: no attempt past it", deadline: 5 * time.Second, rand: 0.99, wantErr: true, wantCalls: 3, wantTime: wait1 + wait2},
		// A Retry-After of 10 s is honoured over a zero jitter draw.
		{name: "Retry-After", deadline: 30 * time.Second, retryAfter: true, rand: 0, wantCalls: 2, wantTime: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := ststest.NewServer() // outside the bubble: its listener must not be in it
			t.Cleanup(srv.Close)
			roleARN := srv.AddRole(ststest.Role{Name: "fleet"})
			synctest.Test(t, func(t *testing.T) {
				client := srv.STSClient(func(o *sts.Options) { o.HTTPClient = &http.Client{Transport: srv.Transport()} })
				p, err := provider.New(client, roleARN, tokensource.Static(srv.MintToken(ststest.Claims{})), func(o *provider.Options) {
					o.MaxAttempts = 2
					o.Rand = func() float64 { return tc.rand }
				})
				if err != nil {
					t.Fatal(err)
				}
				srv.Throttle(ststest.RateLimit{Rate: 0.1, Burst: 1, RetryAfter: tc.retryAfter})
				if _, err := p.Retrieve(t.Context()); err != nil { // takes the one token
					t.Fatal(err)
				}
				srv.ResetCalls()
				ctx := t.Context()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				_, err = p.Retrieve(ctx)
				if gotErr := err != nil; gotErr != tc.wantErr {
					t.Fatalf("Retrieve error = %v; want error: %v", err, tc.wantErr)
				}
				if err != nil {
					if re := mustRetrieveError(t, err); re.Class != provider.ClassTransient || re.Code != "Throttling" {
						t.Errorf("error class %s code %s; want transient Throttling", re.Class, re.Code)
					}
				}
				if got := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); got != tc.wantCalls {
					t.Errorf("STS calls = %d; want %d", got, tc.wantCalls)
				}
				if got := time.Since(start); got != tc.wantTime {
					t.Errorf("Retrieve took %s; want %s", got, tc.wantTime)
				}
			})
		})
	}
}
