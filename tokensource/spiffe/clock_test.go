package spiffe_test

import (
	"context"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// newSource returns spiffe.JWTSource with its clock faked and moved on by
// autoAdvance: retries of an agent that is not ready cost no real time.
func newSource(t *testing.T, audience string, optFns ...func(*spiffe.Options)) tokensource.Source {
	t.Helper()
	src := spiffe.JWTSource(audience, optFns...)
	fake := clock.NewFake(time.Now())
	spiffe.SetClock(src, fake)
	autoAdvance(t, fake)
	return src
}

// autoAdvance fires, for the rest of the test, every timer that the code
// under test waits on, by moving fake to the earliest deadline each time one
// is waiting.
func autoAdvance(t *testing.T, fake *clock.Fake) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for fake.WaitForTimers(ctx, 1) == nil {
			if next, ok := fake.NextDeadline(); ok {
				fake.Set(next)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-finished })
}
