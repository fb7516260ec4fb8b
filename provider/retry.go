package provider

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// classRefresh is the internal class of ExpiredTokenException and
// InvalidIdentityToken (but see [keyUnavailable]): fetch one fresh token and
// try once more. If that fails the same way, the error is reported as
// [ClassTokenRejected].
const classRefresh Class = "refresh-token"

// keyUnavailablePrefix starts, in lower case, the message of the
// InvalidIdentityToken that STS answers when it cannot fetch the identity
// provider's signing keys (the JWKS its discovery document names):
// "Couldn't retrieve verification key from your identity provider, please
// reference AssumeRoleWithWebIdentity documentation for requirements".
const keyUnavailablePrefix = "couldn't retrieve verification key"

// keyUnavailable reports whether an InvalidIdentityToken message says that
// STS could not retrieve the identity provider's verification key. That is
// an outage of the identity provider or of the way from AWS to it, not a bad
// token, so it is transient like IDPCommunicationError (which STS sends
// with the same message) rather than worth a fresh token: the SDK's stscreds
// retries InvalidIdentityToken for this reason, and other SDKs do too. The
// prefix is matched case-insensitively, after leading spaces.
func keyUnavailable(msg string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(msg)), keyUnavailablePrefix)
}

// transientCodes are error codes retried besides the SDK's throttling and
// timeout codes: STS's IDPCommunicationError and the server-side failures
// that an STS-compatible server may send with an unusual HTTP status. An
// InvalidIdentityToken is transient only when [keyUnavailable].
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

// Throttling schedule: see [Provider.Retrieve]. STS answers Throttling
// ("Rate exceeded") when an account's requests at an endpoint pass a token
// bucket whose rate AWS does not publish; the wider, growing window spreads
// a fleet that met the limit over as long as the bucket needs to serve it,
// in a few calls per client.
const (
	throttleMinBackoff = time.Second
	throttleMaxBackoff = 20 * time.Second
)

// sdkThrottles is the SDK's judgement of throttling: Throttling,
// ThrottlingException, RequestLimitExceeded, TooManyRequestsException and
// the other codes of retry.DefaultThrottles.
var sdkThrottles = retry.IsErrorThrottles(retry.DefaultThrottles)

// throttled reports whether err is a throttling answer.
func throttled(err error) bool {
	return sdkThrottles.IsErrorThrottle(err) == aws.TrueTernary
}

// retryAfter returns the wait that the Retry-After header of err's HTTP
// answer asks for (RFC 9110 §10.2.3: delay-seconds, or an HTTP-date read
// against the answer's Date header, else now), at most maxBackoffLimit; 0
// when there is none or it does not parse. STS sends none; servers and
// proxies in front of STS-compatible servers may.
func retryAfter(err error, now time.Time) time.Duration {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil {
		return 0
	}
	h := re.Response.Header.Get("Retry-After")
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, perr := strconv.ParseInt(strings.TrimSpace(h), 10, 64); perr == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(maxBackoffLimit/time.Second))) * time.Second
	} else if at, perr := http.ParseTime(h); perr == nil {
		if date, derr := http.ParseTime(re.Response.Header.Get("Date")); derr == nil {
			now = date
		}
		d = at.Sub(now)
	}
	return min(max(d, 0), maxBackoffLimit)
}

// classify sorts an error of the STS client into a [Class] and returns its
// error code, if any.
func classify(err error) (Class, string) {
	if errors.Is(err, context.Canceled) {
		return ClassCanceled, ""
	}
	var code string
	var api smithy.APIError
	if errors.As(err, &api) {
		code = errorCode(api.ErrorCode())
		switch code {
		case "InvalidIdentityToken":
			if keyUnavailable(api.ErrorMessage()) {
				return ClassTransient, code
			}
			return classRefresh, code
		case "ExpiredTokenException", "ExpiredToken":
			return classRefresh, code
		}
		if transientCodes[code] {
			return ClassTransient, code
		}
	}
	if unparsed(err) {
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

// unparsed reports whether err is a successful HTTP answer whose body did
// not parse. The SDK's generated deserializers wrapped that in a
// smithy.DeserializationError; its schema-based ones (service/sts v1.52.0
// on) return the decoder's error inside the response error of the 2xx
// answer.
func unparsed(err error) bool {
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		return true
	}
	var api smithy.APIError
	var re *smithyhttp.ResponseError
	return !errors.As(err, &api) && errors.As(err, &re) && re.HTTPStatusCode() >= 200 && re.HTTPStatusCode() < 300
}

// codeRE is the shape of an AWS error code ("IDPRejectedClaim",
// "Sender.Throttling"): anything else a server put there is not one.
var codeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,63}$`)

// errorCode returns code when it has the shape of an error code, else
// "InvalidErrorCode": the code goes into logs, metric attributes and span
// attributes unscrubbed, so a server (or a proxy) must not be able to put
// arbitrary text, a token it was sent included, there.
func errorCode(code string) string {
	if code == "" || codeRE.MatchString(code) && !looksSecret(code) {
		return code
	}
	return "InvalidErrorCode"
}
