package spiffe_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// notYet answers PermissionDenied, as SPIRE does before it has attested the
// workload, to the first n calls, then as next does.
func notYet(n int32, next fetchFunc) fetchFunc {
	var calls atomic.Int32
	return func(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
		if calls.Add(1) <= n {
			return nil, status.Error(codes.PermissionDenied, "no identity issued")
		}
		return next(ctx, req)
	}
}

// TestRetryUntilAttested checks that a workload that starts before the agent
// has attested it gets its JWT-SVID once the agent has, within the retry
// window.
func TestRetryUntilAttested(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	a := startAgent(t, notYet(3, mintFor(srv, workloadID)))
	tok, err := newSource(t, "sts.amazonaws.com", withAddr(a.addr)).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sub := subject(t, tok.Value); sub != workloadID {
		t.Errorf("sub = %q, want %q", sub, workloadID)
	}
	if n := len(a.requests()); n != 4 {
		t.Errorf("the agent was asked %d times, want 4 (3 refusals, then the SVID)", n)
	}
}

// TestRetryGivesUp checks that an agent that never issues an identity is
// asked again for 5 s of the source's clock, and no longer.
func TestRetryGivesUp(t *testing.T) {
	a := startAgent(t, fail(status.Error(codes.PermissionDenied, "no identity issued")))
	src := spiffe.JWTSource("sts.amazonaws.com", withAddr(a.addr))
	start := time.Now()
	fake := clock.NewFake(start)
	spiffe.SetClock(src, fake)
	autoAdvance(t, fake)
	_, err := src.Token(context.Background())
	checkErr(t, err, "PermissionDenied", "after retrying for 5s")
	if waited := fake.Now().Sub(start); waited != 5*time.Second {
		t.Errorf("retried for %s of the source's clock, want 5s", waited)
	}
	// Waits of 100, 200, 400, 800 ms, 1 s three times and the 500 ms left
	// fill 5 s: 8 waits, 9 calls.
	if n := len(a.requests()); n != 9 {
		t.Errorf("the agent was asked %d times, want 9", n)
	}
}

// TestNoRetry checks that answers that waiting cannot change are returned
// after one call.
func TestNoRetry(t *testing.T) {
	for _, code := range []codes.Code{codes.InvalidArgument, codes.Internal, codes.Unimplemented, codes.Unknown} {
		t.Run(code.String(), func(t *testing.T) {
			a := startAgent(t, fail(status.Error(code, "no")))
			_, err := newSource(t, "sts.amazonaws.com", withAddr(a.addr)).Token(context.Background())
			if status.Code(err) != code || strings.Contains(err.Error(), "retrying") {
				t.Errorf("err = %v, want %v at once", err, code)
			}
			if n := len(a.requests()); n != 1 {
				t.Errorf("the agent was asked %d times, want 1", n)
			}
		})
	}
}

// TestRetryUntilSocket checks that a socket that appears while the source
// waits (the agent starting) is used.
func TestRetryUntilSocket(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "agent.sock")
	src := spiffe.JWTSource("sts.amazonaws.com", withAddr("unix://"+path))
	fake := clock.NewFake(time.Now())
	spiffe.SetClock(src, fake)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		tok tokensource.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := src.Token(ctx)
		done <- result{tok, err}
	}()
	if err := fake.WaitForTimers(ctx, 1); err != nil { // the first call found no socket
		t.Fatal(err)
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	serveAgent(t, lis, "unix://"+path, mintFor(srv, workloadID))
	fake.Advance(time.Second)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sub := subject(t, r.tok.Value); sub != workloadID {
		t.Errorf("sub = %q, want %q", sub, workloadID)
	}
}

// TestCanceledWhileWaiting checks that the caller's ctx ends a wait between
// retries, with an error that gives both the cancellation and the agent's
// last answer.
func TestCanceledWhileWaiting(t *testing.T) {
	a := startAgent(t, fail(status.Error(codes.Unavailable, "starting")))
	src := spiffe.JWTSource("sts.amazonaws.com", withAddr(a.addr))
	fake := clock.NewFake(time.Now())
	spiffe.SetClock(src, fake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx)
		done <- err
	}()
	if err := fake.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	checkErr(t, err, "while waiting to retry", "starting")
	if !errors.Is(err, context.Canceled) || status.Code(err) != codes.Unavailable {
		t.Errorf("err = %v; want context.Canceled and Unavailable", err)
	}
}
