package provider

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/tokensource"
)

// sourceToken returns the next token (see nextToken), retrying the token
// source's failures that it marks retryable (a 408, 429 or 5xx answer, a
// refused or reset connection, a timeout: a metadata server that is still
// starting, a GitHub outage) as STS's are: up to Options.MaxAttempts
// requests, waiting the provider's backoff on its clock, at least the
// answer's Retry-After (capped at maxBackoffLimit), and never starting a
// wait that would end past ctx's deadline. Any other failure, and the last
// one, is returned as it came.
func (r *retrieval) sourceToken(ctx context.Context) (tokensource.Token, error) {
	p := r.p
	for {
		tok, err := r.nextToken(ctx)
		if err == nil || ctx.Err() != nil || !sourceRetryable(err) {
			return tok, err
		}
		r.sourceFailures++
		attrs := []slog.Attr{slog.String("role_arn", p.roleARN), slog.Int("failures", r.sourceFailures),
			slog.String("error", scrub(err.Error(), r.token.Reveal()))}
		if r.sourceFailures >= p.opts.MaxAttempts {
			p.log.LogAttrs(ctx, slog.LevelWarn, "provider: token source failed, attempts exhausted", attrs...)
			return tok, err
		}
		delay := max(p.backoff.Delay(r.sourceFailures-1), sourceRetryAfter(err))
		attrs = append(attrs, slog.Duration("backoff", delay))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= delay {
			p.log.LogAttrs(ctx, slog.LevelWarn, "provider: token source failed, no time left to retry before the deadline", attrs...)
			return tok, err
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "provider: token source failed, retrying", attrs...)
		if serr := clockutil.Sleep(ctx, p.clock, delay); serr != nil {
			return tok, err
		}
	}
}

// sourceRetryable reports whether a token source marked err retryable
// through a Retryable() bool method in its chain (tokensource.StatusError
// and the HTTP sources' transport errors have one).
func sourceRetryable(err error) bool {
	var re interface{ Retryable() bool }
	return errors.As(err, &re) && re.Retryable()
}

// sourceRetryAfter returns the wait a token endpoint asked for in a
// Retry-After header, at most maxBackoffLimit; 0 when it asked none.
func sourceRetryAfter(err error) time.Duration {
	var se *tokensource.StatusError
	if !errors.As(err, &se) {
		return 0
	}
	return min(max(se.RetryAfter, 0), maxBackoffLimit)
}
