package ststest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// validInput returns a valid input for a role named "app".
func validInput(s *Server) *sts.AssumeRoleWithWebIdentityInput {
	return &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(s.AddRole(Role{Name: "app"})),
		RoleSessionName:  aws.String("sess"),
		WebIdentityToken: aws.String(s.MintToken(Claims{})),
	}
}

// instantRetries keeps the SDK's standard retryer (and its notion of what
// is retryable) without real backoff sleeps.
func instantRetries(o *sts.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 3
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		so.RateLimiter = noRateLimit{}
	})
}

type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

func TestFaultTimesWithSDKRetries(t *testing.T) {
	tests := []struct {
		name      string
		faults    []Fault
		wantErr   bool
		wantCalls int
	}{
		{"IDPCommunicationError twice", []Fault{{Code: "IDPCommunicationError", Times: 2}}, false, 3},
		{"IDPCommunicationError three times", []Fault{{Code: "IDPCommunicationError", Times: 3}}, true, 3},
		{"throttling then 5xx", []Fault{{Code: "Throttling"}, {Code: "InternalFailure"}}, false, 3},
		{"5xx default", []Fault{{}}, false, 2},
		{"connection reset", []Fault{{Reset: true}}, false, 2},
		{"not retried", []Fault{{Code: "IDPRejectedClaim"}}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t)
			for _, f := range tt.faults {
				s.Fail(ActionAssumeRoleWithWebIdentity, f)
			}
			_, err := s.STSClient(instantRetries).AssumeRoleWithWebIdentity(testContext(t), validInput(s))
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := s.Calls(ActionAssumeRoleWithWebIdentity); got != tt.wantCalls {
				t.Errorf("Calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestFaultForeverAndClear(t *testing.T) {
	s, _ := newTestServer(t)
	client := s.STSClient(noRetry)
	ctx := testContext(t)
	s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Code: "Throttling", Times: -1})
	for range 5 {
		if _, err := client.AssumeRoleWithWebIdentity(ctx, validInput(s)); err == nil {
			t.Fatal("succeeded during a permanent fault")
		}
	}
	s.ClearFaults(ActionAssumeRoleWithWebIdentity)
	if _, err := client.AssumeRoleWithWebIdentity(ctx, validInput(s)); err != nil {
		t.Fatal(err)
	}
	if got := s.Calls(ActionAssumeRoleWithWebIdentity); got != 6 {
		t.Errorf("Calls = %d, want 6", got)
	}
}

func TestFaultMalformed(t *testing.T) {
	s, _ := newTestServer(t)
	s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Malformed: true})
	_, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), validInput(s))
	// The client cannot parse the 200 answer: no API error, and the
	// response error of a 2xx status (sts v1.52.0's schema-based
	// deserializers no longer wrap it in a smithy.DeserializationError).
	var api smithy.APIError
	var re *smithyhttp.ResponseError
	if err == nil || errors.As(err, &api) || !errors.As(err, &re) || re.HTTPStatusCode() != 200 {
		t.Fatalf("err = %v (%T), want a 200 answer that does not parse", err, err)
	}
}

func TestFaultOnGetCallerIdentityOnly(t *testing.T) {
	s, _ := newTestServer(t)
	s.Fail(ActionGetCallerIdentity, Fault{Code: "Throttling"})
	creds := assumeCreds(t, s) // not affected
	_, err := sts.NewFromConfig(s.Config(static(creds)), noRetry).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
	if code, _ := apiCode(t, err); code != "Throttling" {
		t.Errorf("code = %s, want Throttling", code)
	}
}

func TestHold(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := testContext(t)
	release := s.Hold(ActionAssumeRoleWithWebIdentity)
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(ctx, validInput(s))
			done <- err
		}()
	}
	if err := s.WaitCalls(ctx, ActionAssumeRoleWithWebIdentity, 2); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("a held request finished: %v", err)
	default:
	}
	release()
	release() // idempotent
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	// Requests after release are not held.
	if _, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(ctx, validInput(s)); err != nil {
		t.Fatal(err)
	}
}

func TestHoldClientCancel(t *testing.T) {
	s, _ := newTestServer(t)
	defer s.Hold(ActionAssumeRoleWithWebIdentity)()
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(ctx, validInput(s))
		done <- err
	}()
	if err := s.WaitCalls(testContext(t), ActionAssumeRoleWithWebIdentity, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestLatency(t *testing.T) {
	s, _ := newTestServer(t)
	s.SetLatency(ActionAssumeRoleWithWebIdentity, time.Hour)
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(ctx, validInput(s))
		done <- err
	}()
	if err := s.WaitCalls(testContext(t), ActionAssumeRoleWithWebIdentity, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	s.SetLatency(ActionAssumeRoleWithWebIdentity, 0)
	if _, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), validInput(s)); err != nil {
		t.Fatal(err)
	}
}

func TestCloseReleasesHeldRequests(t *testing.T) {
	s := NewServer()
	s.Hold(ActionAssumeRoleWithWebIdentity)
	done := make(chan error, 1)
	go func() {
		_, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), validInput(s))
		done <- err
	}()
	if err := s.WaitCalls(testContext(t), ActionAssumeRoleWithWebIdentity, 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // idempotent
	if err := <-done; err == nil {
		t.Error("held request succeeded after Close")
	}
}

func TestWaitCallsContext(t *testing.T) {
	s, _ := newTestServer(t)
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if err := s.WaitCalls(ctx, ActionGetCallerIdentity, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if err := s.WaitCalls(ctx, ActionGetCallerIdentity, 0); err != nil {
		t.Errorf("WaitCalls(0) = %v", err)
	}
}

func TestQueryProtocolErrors(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantAction Action
		wantStatus int
		wantCode   string
	}{
		{"unknown action", "Action=GetSessionToken&Version=2011-06-15", "GetSessionToken", 400, "InvalidAction"},
		{"wrong version", "Action=GetCallerIdentity&Version=2010-01-01", ActionGetCallerIdentity, 400, "InvalidAction"},
		{"missing action", "Version=2011-06-15", actionUnknown, 400, "MissingAction"},
		{"body too large", "Action=GetCallerIdentity&X=" + strings.Repeat("a", 70<<10), actionUnknown, 413, "RequestEntityTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t)
			resp, err := s.HTTPClient().Post(s.URL(), "application/x-www-form-urlencoded", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			b := string(raw)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(b, "<Code>"+tt.wantCode+"</Code>") || !strings.Contains(b, "<Type>Sender</Type>") {
				t.Errorf("status %d body %s; want %d with code %s", resp.StatusCode, b, tt.wantStatus, tt.wantCode)
			}
			if got := s.Calls(tt.wantAction); got != 1 {
				t.Errorf("Calls(%q) = %d, want 1", tt.wantAction, got)
			}
		})
	}
}

func TestQueryProtocolGET(t *testing.T) {
	s, _ := newTestServer(t)
	q := url.Values{"Action": {string(ActionAssumeRoleWithWebIdentity)}, "Version": {"2011-06-15"}, "RoleArn": {s.AddRole(Role{Name: "app"})},
		"RoleSessionName": {"sess"}, "WebIdentityToken": {s.MintToken(Claims{})}}
	resp, err := s.HTTPClient().Get(s.URL() + "/?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

func TestResetCalls(t *testing.T) {
	s, _ := newTestServer(t)
	if _, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), validInput(s)); err != nil {
		t.Fatal(err)
	}
	if s.Calls(ActionDiscovery) != 1 || s.Calls(ActionJWKS) != 1 {
		t.Errorf("STS fetched discovery %d and JWKS %d times, want 1, 1", s.Calls(ActionDiscovery), s.Calls(ActionJWKS))
	}
	s.ResetCalls()
	if s.Calls(ActionAssumeRoleWithWebIdentity) != 0 {
		t.Error("ResetCalls kept a count")
	}
}
