package awsoidc

import (
	"context"
	"errors"

	"github.com/aws/smithy-go"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// scrubbedError is an error whose text had secrets scrubbed from it. It
// unwraps to what errors.Is and errors.As may see without any text of the
// original: the context's error when the call ran out of time or was
// cancelled, or the remote API error's code, fault and HTTP status with
// its message scrubbed too. The original error, whose text holds the
// secret, is not kept.
type scrubbedError struct {
	msg   string
	cause error // nil, a context error, or a *scrubbedAPIError
}

// scrub returns err without secrets, keeping its class (see scrubbedError).
func scrub(prefix string, err error, secrets ...string) error {
	e := &scrubbedError{msg: prefix + redact.Scrub(err.Error(), secrets...)}
	var api smithy.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.cause = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		e.cause = context.Canceled
	case errors.As(err, &api):
		a := &scrubbedAPIError{code: api.ErrorCode(), msg: redact.Scrub(api.ErrorMessage(), secrets...), fault: api.ErrorFault()}
		var status interface{ HTTPStatusCode() int }
		if errors.As(err, &status) {
			a.status = status.HTTPStatusCode()
		}
		e.cause = a
	}
	return e
}

// Error returns the scrubbed text.
func (e *scrubbedError) Error() string { return e.msg }

// Unwrap returns the error's class, without its text.
func (e *scrubbedError) Unwrap() error { return e.cause }

// scrubbedAPIError is a remote API error with its message scrubbed: a
// smithy.APIError, and an HTTP status for retryers and metrics.
type scrubbedAPIError struct {
	code, msg string
	fault     smithy.ErrorFault
	status    int
}

// Error returns "code: message", as the SDK's endpoint errors do.
func (e *scrubbedAPIError) Error() string { return e.code + ": " + e.msg }

// ErrorCode implements smithy.APIError.
func (e *scrubbedAPIError) ErrorCode() string { return e.code }

// ErrorMessage implements smithy.APIError.
func (e *scrubbedAPIError) ErrorMessage() string { return e.msg }

// ErrorFault implements smithy.APIError.
func (e *scrubbedAPIError) ErrorFault() smithy.ErrorFault { return e.fault }

// HTTPStatusCode returns the endpoint's HTTP status, 0 when unknown.
func (e *scrubbedAPIError) HTTPStatusCode() int { return e.status }
