package awsoidc

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/internal/flight"
	"github.com/awsoidc/awsoidc/internal/partition"
)

// lazySTS is the STS client of [WithWebIdentity] and [WithIRSA]. A
// config.LoadOptionsFunc runs before the configuration is resolved, so the
// client is built on the first call, from the options LoadDefaultConfig was
// finally given (a WithRegion after ours still counts), with anonymous
// credentials: AssumeRoleWithWebIdentity is unsigned, and resolving our own
// credentials to call it would recurse.
//
// A failed build is not kept: the next call tries again.
type lazySTS struct {
	lo      *config.LoadOptions    // read on each build, after LoadDefaultConfig applied every option
	roleARN string                 // picks the partition's STS region when none is configured; may be empty
	mp      metrics.MeterProvider  // the client's MeterProvider; nil leaves the SDK's default
	tp      tracing.TracerProvider // the client's TracerProvider; nil leaves the SDK's default

	building flight.Group[*sts.Client]  // runs one build at a time; waiters leave with their ctx
	client   atomic.Pointer[sts.Client] // nil until a build succeeds
}

// buildTimeout bounds one build, which runs on when its callers leave.
const buildTimeout = time.Minute

func newLazySTS(lo *config.LoadOptions, roleARN string, o Options) *lazySTS {
	l := &lazySTS{lo: lo, roleARN: roleARN, mp: o.MeterProvider, tp: o.TracerProvider}
	l.building.Timeout = buildTimeout
	return l
}

// AssumeRoleWithWebIdentity implements [provider.STSClient].
func (l *lazySTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.AssumeRoleWithWebIdentity(ctx, in, optFns...)
}

// get returns the client, building it once. Loading the configuration reads
// local files, but may also reach the EC2 instance metadata service (with
// AWS_DEFAULTS_MODE=auto), so callers waiting for a build can leave with
// their ctx; the build runs on, up to buildTimeout, for the others.
func (l *lazySTS) get(ctx context.Context) (*sts.Client, error) {
	if c := l.client.Load(); c != nil {
		return c, nil
	}
	return l.building.Do(ctx, l.build)
}

// Options returns the options of the client once built; before, those of
// a client built now, and not kept, from the options LoadDefaultConfig has
// been given so far (options given after awsoidc's are not seen), or the
// zero Options if that fails. provider.New reads its BaseEndpoint, as it
// does a *sts.Client's, to accept a role ARN without an account (Ceph RGW)
// only for an endpoint outside AWS.
func (l *lazySTS) Options() sts.Options {
	if c := l.client.Load(); c != nil {
		return c.Options()
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	c, err := l.newClient(ctx)
	if err != nil {
		return sts.Options{}
	}
	return c.Options()
}

// build builds the client and keeps it.
func (l *lazySTS) build(ctx context.Context) (*sts.Client, error) {
	if c := l.client.Load(); c != nil {
		return c, nil
	}
	c, err := l.newClient(ctx)
	if err != nil {
		return nil, err
	}
	l.client.Store(c)
	return c, nil
}

// newClient builds a client from the options LoadDefaultConfig was given.
func (l *lazySTS) newClient(ctx context.Context) (*sts.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, l.loadOptions()...)
	if err != nil {
		return nil, fmt.Errorf("awsoidc: loading the configuration of the STS client: %w", err)
	}
	if cfg.Region == "" {
		roleARN := l.roleARN
		if roleARN == "" {
			roleARN = os.Getenv("AWS_ROLE_ARN")
		}
		cfg.Region = partition.Region(roleARN)
	}
	// sts.NewFromConfig, as the SDK's own clients of this configuration:
	// it resolves AWS_ENDPOINT_URL_STS, the shared config's services
	// sections and their precedence over a base endpoint from
	// cfg.ConfigSources, which provider.NewSTSClient, made for a
	// configuration built by hand, would override.
	return sts.NewFromConfig(cfg, func(so *sts.Options) {
		if l.mp != nil {
			so.MeterProvider = l.mp
		}
		if l.tp != nil {
			so.TracerProvider = l.tp
		}
	}), nil
}

// loadOptions carries over every option the caller gave LoadDefaultConfig
// (region, profile, shared files, endpoints and endpoint resolvers, FIPS
// and dual-stack, HTTP client, CA bundle, retries, logger, ...), so that
// STS is reached where and as the SDK's own STS client of that
// configuration would reach it, and makes the credentials anonymous.
func (l *lazySTS) loadOptions() []func(*config.LoadOptions) error {
	snapshot := *l.lo
	return []func(*config.LoadOptions) error{func(o *config.LoadOptions) error {
		*o = snapshot
		o.Credentials = aws.AnonymousCredentials{}
		return nil
	}}
}
