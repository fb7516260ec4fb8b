package ststest

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestThrottle drains a bucket of 3 refilled at 2 a second on the server's
// fake clock: the fourth request is Throttling (400, "Rate exceeded") and
// counts in Calls, half a second brings one token back, the identity
// provider's endpoints are never throttled, and a zero RateLimit lifts the
// limit.
func TestThrottle(t *testing.T) {
	s, clk := newTestServer(t)
	client := s.STSClient(noRetry)
	in := validInput(s)
	s.Throttle(RateLimit{Rate: 2, Burst: 3})

	call := func() (string, int, string) {
		t.Helper()
		rec := &retryAfterRecorder{rt: s.HTTPClient().Transport}
		_, err := client.AssumeRoleWithWebIdentity(testContext(t), in, func(o *sts.Options) {
			o.HTTPClient = &http.Client{Transport: rec}
		})
		if err == nil {
			return "", http.StatusOK, rec.last
		}
		code, status := apiCode(t, err)
		return code, status, rec.last
	}
	for i := range 3 {
		if code, _, _ := call(); code != "" {
			t.Fatalf("request %d of a full bucket of 3: %s, want success", i+1, code)
		}
	}
	if code, status, ra := call(); code != "Throttling" || status != http.StatusBadRequest || ra != "" {
		t.Fatalf("4th request: code %q status %d Retry-After %q; want Throttling, 400, none (STS sends none)", code, status, ra)
	}
	if got := s.Calls(ActionAssumeRoleWithWebIdentity); got != 4 {
		t.Errorf("Calls = %d; want 4, the throttled request included", got)
	}
	resp, err := s.HTTPClient().Get(s.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery with an empty bucket: status %d; want 200", resp.StatusCode)
	}

	clk.Advance(499 * time.Millisecond)
	if code, _, _ := call(); code != "Throttling" {
		t.Fatalf("after 499ms at 2/s: %q; want Throttling", code)
	}
	clk.Advance(500 * time.Millisecond)
	if code, _, _ := call(); code != "" {
		t.Fatalf("after a token's 500ms: %q; want success", code)
	}

	s.Throttle(RateLimit{Rate: 2, Burst: 1, RetryAfter: true})
	call()
	if code, _, ra := call(); code != "Throttling" || ra != "1" {
		t.Errorf("RetryAfter: code %q Retry-After %q; want Throttling, \"1\" (0.5s rounded up)", code, ra)
	}
	s.Throttle(RateLimit{})
	for range 5 {
		if code, _, _ := call(); code != "" {
			t.Fatalf("without a limit: %q; want success", code)
		}
	}
}

// TestTransportSynctest runs the real STS client through Transport inside
// a synctest bubble, where a socket would stop the virtual clock: the
// server verifies the token (fetching its own issuer's keys in memory),
// its bucket refills on the bubble's clock, and a Reset fault is an error.
func TestTransportSynctest(t *testing.T) {
	s := NewServer() // outside the bubble: its listener must not be in it
	t.Cleanup(s.Close)
	synctest.Test(t, func(t *testing.T) {
		s.Throttle(RateLimit{Rate: 1, Burst: 1}) // full, on the bubble's clock
		client := s.STSClient(noRetry, func(o *sts.Options) { o.HTTPClient = &http.Client{Transport: s.Transport()} })
		in := validInput(s)
		if _, err := client.AssumeRoleWithWebIdentity(t.Context(), in); err != nil {
			t.Fatalf("first call: %v", err)
		}
		if _, err := client.AssumeRoleWithWebIdentity(t.Context(), in); err == nil {
			t.Fatal("second call in the same instant: success; want Throttling")
		} else if code, _ := apiCode(t, err); code != "Throttling" {
			t.Fatalf("second call: %s; want Throttling", code)
		}
		time.Sleep(time.Second)
		if _, err := client.AssumeRoleWithWebIdentity(t.Context(), in); err != nil {
			t.Fatalf("a second later: %v", err)
		}
		s.Throttle(RateLimit{})
		s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Reset: true})
		if _, err := client.AssumeRoleWithWebIdentity(t.Context(), in); err == nil {
			t.Fatal("Reset fault: success; want an error")
		}
	})
	other := &http.Client{Transport: s.Transport()}
	if resp, err := other.Get("http://example.invalid/"); err == nil {
		_ = resp.Body.Close()
		t.Error("Transport served another host")
	}
}

// retryAfterRecorder keeps the Retry-After header of the last response.
type retryAfterRecorder struct {
	rt   http.RoundTripper
	last string
}

func (r *retryAfterRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err == nil {
		r.last = resp.Header.Get("Retry-After")
	}
	return resp, err
}
