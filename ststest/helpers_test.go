package ststest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// fakeNow is a settable clock for Options.Now.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeNow) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestServer starts a server on a fake clock and closes it at the end of
// the test.
func newTestServer(t *testing.T, optFns ...func(*Options)) (*Server, *fakeNow) {
	t.Helper()
	clk := &fakeNow{t: epoch}
	s := NewServer(append([]func(*Options){func(o *Options) { o.Now = clk.Now }}, optFns...)...)
	t.Cleanup(s.Close)
	return s, clk
}

// noRetry makes the sts client send each request once.
func noRetry(o *sts.Options) { o.Retryer = aws.NopRetryer{} }

// apiCode returns the error code and HTTP status of an SDK error.
func apiCode(t *testing.T, err error) (string, int) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not a smithy.APIError", err, err)
	}
	var respErr *awshttp.ResponseError
	status := 0
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	return apiErr.ErrorCode(), status
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
