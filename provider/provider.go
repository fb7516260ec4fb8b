// Package provider trades a web identity token for AWS credentials through
// STS AssumeRoleWithWebIdentity. A [Provider] is an aws.CredentialsProvider
// that calls STS on every Retrieve; put a cache in front of it (the awsoidc
// cache package, or the SDK's aws.CredentialsCache):
//
//	p, err := provider.New(provider.NewSTSClient(cfg), roleARN, tokensource.File(path))
//	if err != nil {
//		return err // a *ValidationError: nothing was sent
//	}
//	cfg.Credentials = cache.New(p)
//
// [New] checks every input before any request. [Provider.Retrieve] sends
// every parameter of the API, retries transient failures itself, and
// returns a [RetrieveError] that classifies the failure and never contains
// the token. See the AssumeRoleWithWebIdentity API reference:
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/internal/redact"
	"github.com/awsoidc/awsoidc/internal/telemetry"
	"github.com/awsoidc/awsoidc/tokensource"
)

// STSClient is the one STS operation a [Provider] needs, satisfied by
// *sts.Client and by stscreds.AssumeRoleWithWebIdentityAPIClient. Use
// [NewSTSClient] to build one, or [STSClientFunc] to fake one in tests.
type STSClient interface {
	AssumeRoleWithWebIdentity(ctx context.Context, params *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
}

// STSClientFunc adapts a function to an [STSClient].
type STSClientFunc func(ctx context.Context, params *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)

// AssumeRoleWithWebIdentity calls f.
func (f STSClientFunc) AssumeRoleWithWebIdentity(ctx context.Context, params *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return f(ctx, params, optFns...)
}

// scope names the meter and the tracer of the provider.
const scope = "github.com/awsoidc/awsoidc/provider"

// Provider retrieves AWS credentials with STS AssumeRoleWithWebIdentity,
// using a token from a [tokensource.Source]. Build it with [New] or
// [FromEnvironment].
//
// A Provider is safe for concurrent use. It holds no lock: concurrent
// Retrieve calls each call STS, so put a cache in front of it. %v and %#v
// describe it without its token source, which may hold a token.
type Provider struct {
	client   STSClient
	roleARN  string
	src      tokensource.Source
	opts     Options // validated, defaults filled, slices owned
	arns     []types.PolicyDescriptorType
	hostname string                 // fallback of the default session name
	sources  []aws.CredentialSource // what ProviderSources reports; nil for web identity
	backoff  backoff.Policy
	throttle backoff.Policy // the schedule after throttling; see retry.go
	clock    clock.Clock
	log      *slog.Logger
	attempts metrics.Int64Histogram // STS calls per Retrieve
	tracer   tracing.Tracer

	last       atomic.Pointer[Metadata] // metadata of the latest successful Retrieve
	skewWarned atomic.Bool              // a skew left uncorrected has been logged at Warn

	nextMu sync.Mutex         // guards next
	next   *tokensource.Token // read by StoreKey, sent first by the next Retrieve
}

// New returns a Provider that assumes roleARN with tokens from src through
// client (see [NewSTSClient]).
//
// Every input is checked here, before any request: the role ARN
// (arn:<partition>:iam::<12-digit account>:role/<path><name> in the AWS
// partitions; any well-formed ARN for other STS-compatible servers, e.g.
// MinIO's arn:minio:iam:::role/<id>), and each field of [Options]. An
// aws-partition role ARN without an account (Ceph RGW's
// arn:aws:iam:::role/<name>) is accepted only when client reports, through
// an Options() sts.Options method as *sts.Client has, a BaseEndpoint
// outside AWS. A bad
// input returns a [ValidationError] naming the field and the rule; several
// are joined with [errors.Join]. Zero retry options get their defaults.
func New(client STSClient, roleARN string, src tokensource.Source, optFns ...func(*Options)) (*Provider, error) {
	var o Options
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	o.PolicyARNs = slices.Clone(o.PolicyARNs)
	if errs := validate(client, roleARN, src, &o); len(errs) == 1 {
		return nil, errs[0]
	} else if len(errs) > 1 {
		return nil, errors.Join(errs...)
	}
	p := &Provider{
		client:  client,
		roleARN: roleARN,
		src:     src,
		opts:    o,
		backoff: backoff.Policy{Min: o.MinBackoff, Max: o.MaxBackoff, Rand: o.Rand},
		throttle: backoff.Policy{
			Min:  max(o.MinBackoff, throttleMinBackoff),
			Max:  max(o.MaxBackoff, throttleMaxBackoff),
			Rand: o.Rand,
		},
		clock: clockutil.OrReal(o.Clock),
		log:   o.Logger,
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.attempts = telemetry.IntHistogram(telemetry.Meter(o.MeterProvider, scope), "awsoidc.provider.attempts", "{attempt}",
		"STS AssumeRoleWithWebIdentity calls made by one Retrieve, retries included, by outcome and error class.")
	p.tracer = telemetry.Tracer(o.TracerProvider, scope)
	for _, a := range o.PolicyARNs {
		p.arns = append(p.arns, types.PolicyDescriptorType{Arn: aws.String(a)})
	}
	if o.RoleSessionName == "" {
		p.hostname, _ = os.Hostname()
	}
	return p, nil
}

// Retrieve gets a token from the source and calls STS
// AssumeRoleWithWebIdentity with every configured parameter. It implements
// aws.CredentialsProvider: the credentials' Source is [ProviderName], and
// their AccountID comes from the assumed role ARN. What STS said about the
// session is kept for [Provider.LastMetadata].
//
// Expires is on the local clock (Options.Clock): the Expiration STS
// returned, less the clock skew measured from the Date header of its answer
// when the local clock is off by 5 seconds or more and the answer's stated
// lifetime (Expiration − Date) is the session duration requested (see
// [Options.DisableClockSkewCorrection] and [Metadata.ClockSkew]). A cache
// that compares it with the local clock then refreshes on time even when
// that clock is wrong, by minutes or by days.
//
// Transient failures (IDPCommunicationError, an InvalidIdentityToken whose
// message starts "Couldn't retrieve verification key", throttling, 5xx,
// unreadable answers, transport errors) are retried up to
// Options.MaxAttempts calls in all, waiting a capped exponential backoff
// with full jitter on Options.Clock between calls; ExpiredTokenException and
// every other InvalidIdentityToken get one fresh token from the source and
// one more call. Throttling has its own, wider schedule, so that a fleet
// that met a full bucket spreads out: waits drawn below a ceiling that
// starts at 1 s (or MinBackoff) and doubles up to 20 s (or MaxBackoff),
// never shorter than a Retry-After the answer carries; and when ctx has a
// deadline, throttled calls do not count against MaxAttempts: a Retrieve
// keeps trying until the deadline, so that a cold start waits for
// credentials rather than failing on the first throttle. All waiting ends
// when ctx does; when ctx's deadline would pass before the next attempt,
// the transient error is returned at once instead of waiting in vain.
// Failures of the token source that it marks retryable (a metadata server
// refusing connections while it starts, a 429 or 5xx answer) are retried
// the same way, up to Options.MaxAttempts token requests, at least a
// Retry-After apart; the last one is reported as [ClassTokenSource], which
// [IsRetryable] reports as retryable. Every failure is a *[RetrieveError].
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	r := &retrieval{p: p}
	creds, md, err := r.run(ctx)
	if err != nil {
		var class string
		if re, ok := errors.AsType[*RetrieveError](err); ok {
			class = string(re.Class)
		}
		p.attempts.Record(ctx, int64(r.attempts), telemetry.Attrs(telemetry.KeyOutcome, "failure", telemetry.KeyErrorType, class))
		return aws.Credentials{}, err
	}
	p.attempts.Record(ctx, int64(r.attempts), telemetry.Attrs(telemetry.KeyOutcome, "success"))
	p.last.Store(&md)
	return creds, nil
}

// LastMetadata returns what STS answered besides the credentials to the
// latest successful Retrieve, and false before the first. Behind a cache,
// which calls Retrieve once per refresh, it describes the credentials the
// cache holds.
func (p *Provider) LastMetadata() (Metadata, bool) {
	if m := p.last.Load(); m != nil {
		return *m, true
	}
	return Metadata{}, false
}

// ProviderSources reports web identity to the SDK's user-agent feature
// tracking (aws.CredentialProviderSource); for a provider made by
// [FromEnvironment], web identity from environment variables.
func (p *Provider) ProviderSources() []aws.CredentialSource {
	if len(p.sources) == 0 {
		return []aws.CredentialSource{aws.CredentialSourceSTSAssumeRoleWebID}
	}
	return slices.Clone(p.sources)
}

// retrieval is the state of one Retrieve call.
type retrieval struct {
	p              *Provider
	token          redact.Secret
	attempts       int
	refreshed      bool
	throttles      int    // throttled calls
	transient      int    // other transient failures
	sourceFailures int    // retryable failures of the token source
	keyedBy        string // the identity StoreKey keyed this retrieval's credentials by; "" if none
}

func (r *retrieval) run(ctx context.Context) (aws.Credentials, Metadata, error) {
	p := r.p
	if err := ctx.Err(); err != nil {
		return r.fail(ClassCanceled, "", err)
	}
	in, err := r.input(ctx)
	if err != nil {
		return aws.Credentials{}, Metadata{}, err
	}
	for {
		r.attempts++
		start := p.clock.Now()
		p.log.LogAttrs(ctx, slog.LevelDebug, "provider: calling STS AssumeRoleWithWebIdentity",
			slog.String("role_arn", p.roleARN), slog.Int("attempt", r.attempts),
			slog.String("token", redact.Fingerprint(r.token.Reveal())))
		actx, span := p.tracer.StartSpan(ctx, "awsoidc.provider.attempt", telemetry.Kind(tracing.SpanKindClient))
		span.SetProperty(telemetry.KeyAttempt, r.attempts)
		out, err := p.client.AssumeRoleWithWebIdentity(actx, in, noSDKRetries)
		if err == nil {
			telemetry.End(span, "", nil)
			creds, md, err := result(out)
			if err != nil {
				return r.fail(ClassPermanent, "", err)
			}
			p.correctSkew(ctx, &creds, &md, out.ResultMetadata, p.clock.Now(), requestedDuration(in.DurationSeconds))
			md.RoleSessionName = aws.ToString(in.RoleSessionName)
			md.Attempts = r.attempts
			md.TokenRefreshed = r.refreshed
			p.log.LogAttrs(ctx, slog.LevelDebug, "provider: assumed role",
				slog.String("role_arn", p.roleARN), slog.String("assumed_role_arn", md.AssumedRoleARN),
				slog.Int("attempts", r.attempts), slog.Time("expires", md.Expires), slog.String("request_id", md.RequestID))
			return creds, md, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			telemetry.End(span, string(ClassCanceled), err)
			return r.fail(ClassCanceled, "", fmt.Errorf("%w (last error: %w)", ctxErr, err))
		}
		class, code := classify(err)
		if code != "" {
			span.SetProperty(telemetry.KeyErrorCode, code)
		}
		spanClass := class
		if class == classRefresh {
			spanClass = ClassTokenRejected
		}
		telemetry.End(span, string(spanClass), err)
		attrs := []slog.Attr{slog.String("role_arn", p.roleARN), slog.Int("attempt", r.attempts),
			slog.String("class", string(class)), slog.String("code", code), slog.Duration("elapsed", p.clock.Now().Sub(start)),
			slog.String("error", scrub(err.Error(), r.token.Reveal()))}
		switch class {
		case classRefresh:
			if r.refreshed {
				return r.fail(ClassTokenRejected, code, err)
			}
			r.refreshed = true
			p.log.LogAttrs(ctx, slog.LevelInfo, "provider: STS rejected the token, retrying once with a fresh token", attrs...)
			if in, err = r.input(ctx); err != nil {
				return aws.Credentials{}, Metadata{}, err
			}
			continue
		case ClassTransient:
			if r.attempts >= p.opts.MaxAttempts+r.uncounted(ctx, err) {
				p.log.LogAttrs(ctx, slog.LevelWarn, "provider: STS failed, attempts exhausted", attrs...)
				return r.fail(ClassTransient, code, err)
			}
		default:
			p.log.LogAttrs(ctx, slog.LevelDebug, "provider: STS failed permanently", attrs...)
			return r.fail(class, code, err)
		}
		delay := r.delay(err)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= delay {
			// The caller's deadline (always wall-clock time) comes before
			// the next attempt could: report the transient error now rather
			// than wait in vain and report a cancellation.
			p.log.LogAttrs(ctx, slog.LevelWarn, "provider: STS failed, no time left to retry before the deadline", append(attrs, slog.Duration("backoff", delay))...)
			return r.fail(ClassTransient, code, err)
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "provider: STS failed, retrying", append(attrs, slog.Duration("backoff", delay))...)
		if serr := clockutil.Sleep(ctx, p.clock, delay); serr != nil {
			return r.fail(ClassCanceled, code, fmt.Errorf("%w while waiting to retry (last error: %w)", serr, err))
		}
	}
}

// refreshCall is 1 once the one retry with a fresh token has been spent: it
// does not count against Options.MaxAttempts.
func (r *retrieval) refreshCall() int {
	if r.refreshed {
		return 1
	}
	return 0
}

// uncounted notes a transient failure err and returns how many of the
// calls made do not count against Options.MaxAttempts: the one retry with
// a fresh token and, when ctx has a deadline that bounds them, the
// throttled calls.
func (r *retrieval) uncounted(ctx context.Context, err error) int {
	n := r.refreshCall()
	if !throttled(err) {
		r.transient++
	} else if r.throttles++; hasDeadline(ctx) {
		n += r.throttles
	}
	return n
}

// delay returns the wait before the call after the transient failure err:
// the throttling schedule, at least the answer's Retry-After, after
// throttling, else the schedule of other failures.
func (r *retrieval) delay(err error) time.Duration {
	p := r.p
	if throttled(err) {
		return max(p.throttle.Delay(r.throttles-1), retryAfter(err, p.clock.Now()))
	}
	return p.backoff.Delay(r.transient - 1)
}

// hasDeadline reports whether ctx has a deadline.
func hasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}

// input fetches a token and builds the request around it.
func (r *retrieval) input(ctx context.Context) (*sts.AssumeRoleWithWebIdentityInput, error) {
	p := r.p
	tok, err := r.sourceToken(ctx)
	if err != nil {
		class := ClassTokenSource
		if ctx.Err() != nil {
			class = ClassCanceled
		}
		_, _, err = r.fail(class, "", fmt.Errorf("token source: %w", err))
		return nil, err
	}
	r.token = redact.New(tok.Value)
	if err := checkToken(tok.Value); err != nil {
		_, _, err = r.fail(ClassInvalidInput, "", err)
		return nil, err
	}
	name := p.opts.RoleSessionName
	if name == "" {
		name = defaultSessionName(tok.Value, p.hostname)
	}
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(p.roleARN),
		RoleSessionName:  aws.String(name),
		WebIdentityToken: aws.String(tok.Value),
		PolicyArns:       slices.Clone(p.arns),
	}
	if d := p.opts.Duration; d != 0 {
		in.DurationSeconds = aws.Int32(int32(d / time.Second)) //nolint:gosec // G115: New checked d <= maxDuration (43,200 s)
	}
	if p.opts.Policy != "" {
		in.Policy = aws.String(p.opts.Policy)
	}
	if p.opts.ProviderID != "" {
		in.ProviderId = aws.String(p.opts.ProviderID)
	}
	if n := p.opts.MinimumSessionTokenSize; n != 0 {
		in.MinimumSessionTokenSize = aws.Int32(n)
	}
	return in, nil
}

// fail builds the RetrieveError of this retrieval.
func (r *retrieval) fail(class Class, code string, err error) (aws.Credentials, Metadata, error) {
	e := &RetrieveError{
		Class:          class,
		Code:           code,
		RoleARN:        r.p.roleARN,
		Attempts:       r.attempts,
		TokenRefreshed: r.refreshed,
		Err:            err,
		token:          r.token,
	}
	if code == "PackedPolicyTooLarge" {
		e.PackedPolicyPercent = packedPercent(err.Error())
	}
	return aws.Credentials{}, Metadata{}, e
}

// String describes the provider without its token source.
func (p *Provider) String() string {
	return fmt.Sprintf("provider.Provider{RoleARN:%q, RoleSessionName:%q, SourceID:%q, Duration:%s, MaxAttempts:%d}",
		p.roleARN, p.opts.RoleSessionName, p.opts.SourceID, p.opts.Duration, p.opts.MaxAttempts)
}

// GoString keeps %#v as safe as %v.
func (p *Provider) GoString() string { return "&" + p.String() }
