package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/smithy-go"
)

// Outcome is the result of one refresh attempt.
type Outcome int

const (
	// OutcomeFetched means the provider returned new credentials.
	OutcomeFetched Outcome = iota + 1
	// OutcomeLoaded means fresh credentials were loaded from the Store,
	// written there by another process (or an earlier run), and the
	// provider was not called.
	OutcomeLoaded
	// OutcomeFailed means the attempt failed; see RefreshEvent.Err and
	// RefreshEvent.Stale.
	OutcomeFailed
)

// String returns "fetched", "loaded" or "failed", for metric labels.
func (o Outcome) String() string {
	switch o {
	case OutcomeFetched:
		return "fetched"
	case OutcomeLoaded:
		return "loaded"
	case OutcomeFailed:
		return "failed"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// RefreshEvent describes one refresh attempt, for [Options.OnRefresh]. It
// holds no credential value.
type RefreshEvent struct {
	// Start is when the attempt started, on the cache's clock.
	Start time.Time
	// Duration is how long it took: store lock, provider call, store write.
	Duration time.Duration
	// Outcome says whether credentials were fetched, loaded or neither.
	Outcome Outcome
	// ErrorClass is a short, bounded label for the failure, fit for a
	// metric label: the AWS error code when there is one
	// ("ExpiredTokenException", "IDPCommunicationError", "Throttling", ...),
	// else "timeout", "canceled", "transport", "invalid_credentials" or
	// "other". Empty on success.
	ErrorClass string
	// Err is the failure, nil on success. Its message names no secret. A
	// refresh cancelled by [Cache.Close] fails with an error that matches
	// [ErrClosed] (errors.Is), class "canceled", logged at Debug only.
	Err error
	// Failures counts the consecutive failed attempts, this one included;
	// 0 on success.
	Failures int
	// Stale reports, for a failure, that the cache keeps serving its
	// current credentials, still valid until Expires (static stability).
	Stale bool
	// Expires is the real expiry of the credentials the cache holds after
	// the attempt; zero when it holds none that are valid.
	Expires time.Time
	// NextRefresh is when the cache will next call the provider (or the
	// store): the start of the new credentials' advisory window after a
	// success, the end of the backoff after a failure. With background mode
	// off, the call happens at the first Retrieve from then on.
	NextRefresh time.Time
}

// RefreshError is the error Retrieve returns when the cache holds no valid
// credentials and the provider failed: just now, or recently enough that
// the failure backoff does not allow another call yet. errors.As and
// errors.Is see through it to the provider's error.
type RefreshError struct {
	// Err is the provider's (or store's) last error.
	Err error
	// Failures counts the consecutive failed attempts.
	Failures int
	// NextAttempt is when the cache will call the provider again.
	NextAttempt time.Time
	// Expired is when the last cached credentials expired; zero when the
	// cache never had any (or they were invalidated).
	Expired time.Time
}

// Error describes the failure; it names no secret.
func (e *RefreshError) Error() string {
	s := fmt.Sprintf("cache: no valid credentials after %d failed refresh attempt(s)", e.Failures)
	if !e.Expired.IsZero() {
		s += ", cached credentials expired at " + e.Expired.UTC().Format(time.RFC3339)
	}
	if !e.NextAttempt.IsZero() {
		s += ", next attempt at " + e.NextAttempt.UTC().Format(time.RFC3339)
	}
	return s + ": " + errString(e.Err)
}

// Unwrap returns the provider's error.
func (e *RefreshError) Unwrap() error { return e.Err }

// ErrClosed is returned by Retrieve after [Cache.Close] when the cache holds
// no valid credentials.
var ErrClosed = errors.New("cache: closed")

// ErrRefreshInFlight is matched (errors.Is) by the error Retrieve returns
// when the cached credentials have expired (or were invalidated) while a
// refresh that started before, while they were valid, is still in flight,
// and the caller has
// waited [Options.MaxWait] for it (or, with [NoWait], not at all). The error
// says how long the refresh has been running and when the credentials
// expired, and also matches the previous refresh's error when that one
// failed. Retry: the refresh goes on, and its result is served as soon as
// it ends.
var ErrRefreshInFlight = errors.New("cache: the credentials refresh in flight has not finished")

// errInvalidated is returned to a caller whose refresh succeeded but whose
// credentials were dropped by Invalidate before it could take them.
var errInvalidated = errors.New("cache: credentials were invalidated during the refresh; retry")

// errInvalidCredentials marks credentials a provider returned that cannot be
// served: without keys, or already expired.
var errInvalidCredentials = errors.New("cache: provider returned unusable credentials")

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// errorClass returns the bounded label of RefreshEvent.ErrorClass.
func errorClass(err error) string {
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return apiErr.ErrorCode()
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, errInvalidCredentials):
		return "invalid_credentials"
	case errors.As(err, &netErr):
		if netErr.Timeout() {
			return "timeout"
		}
		return "transport"
	}
	return "other"
}
