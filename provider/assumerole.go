package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// assumeRoleSource is the Source of credentials an [AssumeRole] returns.
const assumeRoleSource = "AWSOIDCAssumeRole"

// AssumeRoleClient is the one STS operation a hop needs; *sts.Client
// satisfies it.
type AssumeRoleClient interface {
	AssumeRole(ctx context.Context, params *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// AssumeRole is an aws.CredentialsProvider for one hop of a role chain: each
// Retrieve calls STS AssumeRole for the hop's role, signed with credentials
// from its base provider. Put it behind a cache (cache.New), with the
// previous step's cache as base: see awsoidc.Options.Chain. It is safe for
// concurrent use.
//
// Retries are the STS client's own (a plain sts.Client makes 3 attempts
// for throttling, 5xx and transport errors, with jittered backoff); the
// cache above it retries a failed refresh with its own backoff while it
// serves the credentials it holds.
type AssumeRole struct {
	client      AssumeRoleClient
	base        aws.CredentialsProvider
	hop         Hop
	maxAttempts int
}

// NewAssumeRole returns an [AssumeRole] that assumes hop.RoleARN, signing
// the call with credentials from base (per call: sts.Options.Credentials is
// base, so client may be an anonymous client such as the web identity
// provider's). Every field of hop is checked before any call: the errors
// are [ValidationError]s whose Field is "Hop.<Field>", joined, and the
// message names the role.
//
// Of [Options], a hop uses MaxAttempts (the STS client's attempts per call;
// 0 keeps the client's own). The fields that set AssumeRoleWithWebIdentity's
// parameters (RoleSessionName, Duration, Policy, PolicyARNs, ProviderID,
// MinimumSessionTokenSize, SourceID) are refused: a hop's are in [Hop]. The
// others do not apply to a hop.
func NewAssumeRole(client AssumeRoleClient, base aws.CredentialsProvider, hop Hop, optFns ...func(*Options)) (*AssumeRole, error) {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if errs := validateHop(client, base, hop, o); len(errs) > 0 {
		return nil, &invalidHop{roleARN: hop.RoleARN, errs: errs}
	}
	hop.PolicyARNs = slices.Clone(hop.PolicyARNs)
	hop.Tags = maps.Clone(hop.Tags)
	hop.TransitiveTagKeys = slices.Clone(hop.TransitiveTagKeys)
	if hop.RoleSessionName == "" {
		hop.RoleSessionName = fallbackSessionName
	}
	return &AssumeRole{client: client, base: base, hop: hop, maxAttempts: o.MaxAttempts}, nil
}

// invalidHop is every [ValidationError] of one hop, under its role.
type invalidHop struct {
	roleARN string
	errs    []error
}

// Error returns "provider: hop <role>: invalid <Field> ...; invalid ...".
func (e *invalidHop) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = strings.TrimPrefix(err.Error(), "provider: ")
	}
	return "provider: hop " + e.roleARN + ": " + strings.Join(msgs, "; ")
}

// Unwrap returns the ValidationErrors, for errors.As.
func (e *invalidHop) Unwrap() []error { return e.errs }

// Retrieve assumes the hop's role and returns its credentials, or a
// [*HopError].
func (a *AssumeRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	signer := &recordingCreds{base: a.base}
	out, err := a.client.AssumeRole(ctx, a.input(), func(o *sts.Options) {
		o.Credentials = signer
		if a.maxAttempts > 0 {
			o.RetryMaxAttempts = a.maxAttempts
		}
	})
	if err != nil {
		return aws.Credentials{}, a.fail(err, signer)
	}
	c := out.Credentials
	if c == nil || aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" ||
		aws.ToString(c.SessionToken) == "" || c.Expiration == nil {
		return aws.Credentials{}, &HopError{Class: ClassTransient, RoleARN: a.hop.RoleARN, Err: errNoCredentials}
	}
	creds := aws.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          assumeRoleSource,
		CanExpire:       true,
		Expires:         aws.ToTime(c.Expiration),
	}
	if u := out.AssumedRoleUser; u != nil {
		creds.AccountID = accountID(aws.ToString(u.Arn))
	}
	return creds, nil
}

// ProviderSources reports an STS AssumeRole to the SDK's user-agent feature
// tracking (aws.CredentialProviderSource).
func (a *AssumeRole) ProviderSources() []aws.CredentialSource {
	return []aws.CredentialSource{aws.CredentialSourceSTSAssumeRole}
}

// String describes the hop without its external ID.
func (a *AssumeRole) String() string {
	return fmt.Sprintf("provider.AssumeRole(%s, session %s)", a.hop.RoleARN, a.hop.RoleSessionName)
}

// GoString keeps %#v as short as %v: no field of the hop, the external ID
// included, and nothing of the base credentials.
func (a *AssumeRole) GoString() string { return "&" + a.String() }

// input is the AssumeRole request of the hop.
func (a *AssumeRole) input() *sts.AssumeRoleInput {
	h := a.hop
	in := &sts.AssumeRoleInput{
		RoleArn:           aws.String(h.RoleARN),
		RoleSessionName:   aws.String(h.RoleSessionName),
		TransitiveTagKeys: slices.Clone(h.TransitiveTagKeys),
	}
	if h.ExternalID != "" {
		in.ExternalId = aws.String(h.ExternalID)
	}
	if h.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(h.Duration.Seconds()))
	}
	if h.Policy != "" {
		in.Policy = aws.String(h.Policy)
	}
	for _, arn := range h.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(arn)})
	}
	for _, k := range slices.Sorted(maps.Keys(h.Tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(h.Tags[k])})
	}
	if h.SourceIdentity != "" {
		in.SourceIdentity = aws.String(h.SourceIdentity)
	}
	return in
}

// fail classifies err into a [*HopError].
func (a *AssumeRole) fail(err error, signer *recordingCreds) error {
	e := &HopError{RoleARN: a.hop.RoleARN, Err: err, secrets: append(signer.seen(), a.hop.ExternalID)}
	if baseErr := signer.failure(); baseErr != nil && errors.Is(err, baseErr) {
		// The base credentials failed: nothing reached STS for this hop.
		e.Class = baseClass(baseErr)
		e.Err = fmt.Errorf("base credentials: %w", err)
		return e
	}
	class, code := classify(err)
	if class == classRefresh {
		// ExpiredToken: the base credentials expired on the way. The base
		// cache has fresh ones by the next attempt.
		class = ClassTransient
	}
	if errors.Is(err, context.DeadlineExceeded) && ctxErr(err) {
		class = ClassCanceled
	}
	e.Class, e.Code = class, code
	var api smithy.APIError
	if code == "PackedPolicyTooLarge" && errors.As(err, &api) {
		e.PackedPolicyPercent = packedPercent(api.ErrorMessage())
	}
	return e
}

// ctxErr reports whether err is a context's end rather than a server's.
func ctxErr(err error) bool {
	var api smithy.APIError
	return !errors.As(err, &api)
}

// baseClass is the class of a failure of the base credentials.
func baseClass(err error) Class {
	var re *RetrieveError
	var he *HopError
	switch {
	case errors.As(err, &re):
		return re.Class
	case errors.As(err, &he):
		return he.Class
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ClassCanceled
	case IsRetryable(err):
		return ClassTransient
	}
	return ClassPermanent
}

// recordingCreds hands base's credentials to the signer and remembers
// their secrets, to scrub them from errors, and base's failure.
type recordingCreds struct {
	base aws.CredentialsProvider

	mu      sync.Mutex // guards secrets and err
	secrets []string
	err     error
}

func (r *recordingCreds) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.base.Retrieve(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err = err
		return c, err
	}
	r.secrets = append(r.secrets, c.SecretAccessKey, c.SessionToken)
	return c, nil
}

func (r *recordingCreds) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.secrets)
}

func (r *recordingCreds) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
