package provider

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// classRefresh is the internal class of ExpiredTokenException and
// InvalidIdentityToken: fetch one fresh token and try once more. If that
// fails the same way, the error is reported as [ClassTokenRejected].
const classRefresh Class = "refresh-token"

// transientCodes are error codes retried besides the SDK's throttling and
// timeout codes: STS's IDPCommunicationError and the server-side failures
// that an STS-compatible server may send with an unusual HTTP status.
var transientCodes = map[string]bool{
	"IDPCommunicationError":       true,
	"InternalFailure":             true,
	"InternalError":               true,
	"InternalServerError":         true,
	"ServiceUnavailable":          true,
	"ServiceUnavailableException": true,
}

// sdkTransient is the SDK's own judgement of transient errors: connection
// errors, 500/502/503/504, throttling and timeout codes.
var sdkTransient = retry.IsErrorRetryables(retry.DefaultRetryables)

// classify sorts an error of the STS client into a [Class] and returns its
// error code, if any.
func classify(err error) (Class, string) {
	if errors.Is(err, context.Canceled) {
		return ClassCanceled, ""
	}
	var code string
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
		switch code {
		case "ExpiredTokenException", "ExpiredToken", "InvalidIdentityToken":
			return classRefresh, code
		}
		if transientCodes[code] {
			return ClassTransient, code
		}
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		// A 2xx answer that does not parse: a truncated body or a proxy's
		// page. Another attempt may get a real answer.
		return ClassTransient, code
	}
	if sdkTransient.IsErrorRetryable(err) == aws.TrueTernary {
		return ClassTransient, code
	}
	return ClassPermanent, code
}

// noSDKRetries is the per-call option of every STS request: the provider's
// loop owns the retry policy, so the client's own retryer (3 attempts for
// IDPCommunicationError in a plain sts.Client) must not multiply it.
//
// It sets aws.NopRetryer rather than RetryMaxAttempts = 1. Both send exactly
// one attempt, but a retryer capped at one attempt still judges each error
// and wraps the retryable ones in retry.MaxAttemptsError ("exceeded maximum
// number of attempts, 1, ..."), a misleading message, and a client in
// adaptive retry mode would still delay attempts through its client-side
// rate limiter, on top of our backoff. NopRetryer returns the error as it
// came and adds no delay. The client's clock skew correction, endpoint and
// HTTP settings are untouched.
func noSDKRetries(o *sts.Options) { o.Retryer = aws.NopRetryer{} }
