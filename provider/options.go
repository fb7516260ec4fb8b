package provider

import (
	"log/slog"
	"time"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/clock"
)

// Defaults and limits of the retry options, filled in and checked by [New].
const (
	defaultMaxAttempts = 5
	maxMaxAttempts     = 10
	defaultMinBackoff  = 200 * time.Millisecond
	defaultMaxBackoff  = 5 * time.Second
	maxBackoffLimit    = 5 * time.Minute
)

// Options configures a [Provider]. Pass functions that modify it to [New] or
// [FromEnvironment], like the SDK's stscreds.WebIdentityRoleOptions:
//
//	p, err := provider.New(client, roleARN, src, func(o *provider.Options) {
//		o.Duration = time.Hour
//	})
//
// Options holds no secret, so it prints safely with every fmt verb.
type Options struct {
	// RoleSessionName is sent as RoleSessionName: 2 to 64 characters of
	// [\w+=,.@-]. STS writes it to CloudTrail, so the default says which
	// workload asked (the SDK's stscreds uses a timestamp) and is never
	// personal data, which STS advises against there: the token's "sub"
	// claim (read without verifying the token) when it is a workload
	// identity in its issuer's default format and holds no '@' (a
	// Kubernetes service account, system:serviceaccount:<ns>:<name>, sent as
	// system-serviceaccount-<ns>-<name>; a GitHub Actions, GitLab CI/CD, HCP
	// Terraform or Buildkite job; a SPIFFE ID), else the host name, else
	// "awsoidc". Any other subject (an email address, a user ID, a
	// customized CI format) may identify a person and is never used. The
	// default is mapped onto the character set (other characters become
	// '-') and cut to 64 characters. [Metadata].RoleSessionName reports the
	// name sent.
	RoleSessionName string

	// Duration is sent as DurationSeconds, truncated to whole seconds: 0
	// lets STS pick its default (one hour), otherwise 15 minutes to 12 hours
	// (and no more than the role's maximum session duration, which only STS
	// knows).
	Duration time.Duration

	// Policy is an inline session policy: a JSON object (a policy document,
	// {"Version":"2012-10-17","Statement":[...]}; null, a number, an array
	// or a string are refused), at most 2,048 characters, each in
	// \u0020-\u00FF or tab, LF, CR. Together with PolicyARNs it must fit the
	// 2,048-character plaintext budget STS allows session policies.
	Policy string

	// PolicyARNs are the ARNs of up to 10 managed session policies.
	PolicyARNs []string

	// ProviderID is sent as ProviderId: the bare host name of an OAuth 2.0
	// identity provider (www.amazon.com, graph.facebook.com), without scheme,
	// port or path. Set it only for OAuth 2.0 access tokens, never for OpenID
	// Connect ID tokens.
	ProviderID string

	// MinimumSessionTokenSize is sent as MinimumSessionTokenSize: STS pads
	// the session token to at least this many bytes, at most 4,096. 0 leaves
	// the size unchanged (and is not sent).
	MinimumSessionTokenSize int32

	// SourceID identifies the token source (e.g. the token file's path) in
	// [Provider.CacheKey], so that two providers that differ only by their
	// token source do not share cached credentials. [FromEnvironment] sets it
	// to the token file's path.
	SourceID string

	// MaxAttempts is the most STS calls one Retrieve makes for transient
	// errors (IDPCommunicationError, InvalidIdentityToken "Couldn't retrieve
	// verification key ...", throttling, 5xx, transport errors), the first
	// call included: 1 disables retries, 0 means 5, at most 10. The single
	// retry with a fresh token after ExpiredTokenException or another
	// InvalidIdentityToken comes on top, and so do throttled calls when
	// Retrieve's ctx has a deadline: they go on, with their own wider
	// backoff, until the next wait would end past it (see
	// [Provider.Retrieve]).
	MaxAttempts int

	// MinBackoff is the ceiling of the first retry delay; each further retry
	// doubles the ceiling up to MaxBackoff, and the delay is drawn uniformly
	// below the ceiling (full jitter). 0 means 200 ms; at most 5 minutes.
	MinBackoff time.Duration

	// MaxBackoff caps every retry delay. 0 means 5 s, or MinBackoff when
	// that is larger; at most 5 minutes and at least MinBackoff.
	MaxBackoff time.Duration

	// Rand returns numbers in [0, 1) that place each retry delay below its
	// ceiling. Nil means math/rand/v2. Tests set it for a deterministic
	// schedule.
	Rand func() float64

	// Clock times the retry delays, and is the local clock that the
	// clock skew correction compares STS's clock with. Nil means the wall
	// clock; tests use a clock.Fake.
	Clock clock.Clock

	// DisableClockSkewCorrection returns the Expiration of STS unchanged.
	// By default, when the Date header of STS's answer differs from
	// Clock.Now() by 5 seconds or more, the returned Expires is moved
	// by the whole difference onto the local clock, so that caches deciding
	// with the local clock neither serve expired credentials (local clock
	// behind) nor refresh too early (local clock ahead).
	//
	// The answer judges its own Date. STS grants exactly the requested
	// Duration (one hour when 0), so the lifetime an answer states
	// (Expiration − Date) must be that duration: at most one minute longer
	// (rounding), or shorter down to 15 minutes (a server that caps the
	// session). Only then is the Date taken for STS's clock. Any other
	// lifetime means the Date is another clock's (a proxy's, or a cached
	// answer's): Expires is left as STS sent it, and a warning saying why is
	// logged, once per Provider (at debug level afterwards). A corrected
	// Expires is never later than the requested duration after the answer
	// arrived, so the correction never makes credentials outlive what STS
	// can have granted. The SDK corrects its request signatures for skew the
	// same way; see [Metadata.ClockSkew].
	DisableClockSkewCorrection bool

	// Logger receives one record per attempt, retry delay and failure, with
	// the error class, code and message (a token that STS echoes replaced by
	// a placeholder); never a token or credential. Nil discards.
	Logger *slog.Logger

	// MeterProvider receives the histogram awsoidc.provider.attempts, the
	// STS calls each Retrieve made (see docs/metrics.md), as
	// sts.Options.MeterProvider does the SDK's metrics. Nil means
	// metrics.NopMeterProvider.
	MeterProvider metrics.MeterProvider

	// TracerProvider receives a span per STS call,
	// "awsoidc.provider.attempt", a child of the span in Retrieve's ctx (the
	// cache's refresh span); the SDK's own span of the call nests inside it
	// when the STS client has the same TracerProvider. Nil means
	// tracing.NopTracerProvider.
	TracerProvider tracing.TracerProvider
}
