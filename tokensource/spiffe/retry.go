package spiffe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/tokensource"
)

// retryFor is how long Token retries an agent that is not ready: its
// socket missing or refusing connections while it starts, or its answer
// PermissionDenied ("no identity issued") until it has attested a workload
// that has just started, and received its registration entry from the
// SPIRE server, which it asks every few seconds.
const retryFor = 5 * time.Second

// retrySchedule spaces the retries 100 ms, 200 ms, 400 ms, ... up to 1 s
// apart. It has no jitter: the wait is for one local agent, not a fleet's
// shared server.
var retrySchedule = backoff.Policy{Min: 100 * time.Millisecond, Max: time.Second}

// Token fetches a JWT-SVID from the Workload API, retrying an agent that is
// not ready for up to retryFor within ctx.
func (s *jwtSource) Token(ctx context.Context) (tokensource.Token, error) {
	deadline := s.clock.Now().Add(retryFor)
	for attempt := 0; ; attempt++ {
		tok, err := s.fetch(ctx)
		if err == nil || !notReady(ctx, err) {
			return tok, err
		}
		left := deadline.Sub(s.clock.Now())
		if left <= 0 {
			return tokensource.Token{}, rewrap(err, func(cause error) error {
				return fmt.Errorf("%w (after retrying for %s)", cause, retryFor)
			})
		}
		if serr := clockutil.Sleep(ctx, s.clock, min(retrySchedule.Ceiling(attempt), left)); serr != nil {
			return tokensource.Token{}, rewrap(err, func(cause error) error {
				return fmt.Errorf("%w while waiting to retry: %w", serr, cause)
			})
		}
	}
}

// notReady reports whether err says the agent is not ready yet, and ctx
// leaves time to ask again.
func notReady(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	st, ok := status.FromError(err)
	return ok && (st.Code() == codes.Unavailable || st.Code() == codes.PermissionDenied)
}

// rewrap replaces the cause of the source's error err by wrap(cause).
func rewrap(err error, wrap func(error) error) error {
	var te *tokensource.Error
	if !errors.As(err, &te) {
		return wrap(err)
	}
	return &tokensource.Error{Source: te.Source, Name: te.Name, Err: wrap(te.Err)}
}
