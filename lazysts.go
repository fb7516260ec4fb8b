package awsoidc

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// lazySTS is the STS client of [WithWebIdentity] and [WithIRSA]. A
// config.LoadOptionsFunc runs before the configuration is resolved, so the
// client is built on the first call, from the options LoadDefaultConfig was
// finally given (a WithRegion after ours still counts), with anonymous
// credentials: AssumeRoleWithWebIdentity is unsigned, and resolving our own
// credentials to call it would recurse.
type lazySTS struct {
	lo      *config.LoadOptions // read once, on first use, after LoadDefaultConfig applied every option
	roleARN string              // picks the partition's STS region when none is configured; may be empty

	mu     sync.Mutex // guards client; held while the configuration loads (local files only, no network)
	client *sts.Client
}

func newLazySTS(lo *config.LoadOptions, roleARN string) *lazySTS {
	return &lazySTS{lo: lo, roleARN: roleARN}
}

// AssumeRoleWithWebIdentity implements [provider.STSClient].
func (l *lazySTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.AssumeRoleWithWebIdentity(ctx, in, optFns...)
}

func (l *lazySTS) get(ctx context.Context) (*sts.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		return l.client, nil
	}
	opts := []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(aws.AnonymousCredentials{}),
	}
	if l.lo.Region != "" {
		opts = append(opts, config.WithRegion(l.lo.Region))
	}
	if l.lo.SharedConfigProfile != "" {
		opts = append(opts, config.WithSharedConfigProfile(l.lo.SharedConfigProfile))
	}
	if l.lo.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(l.lo.HTTPClient))
	}
	if l.lo.Logger != nil {
		opts = append(opts, config.WithLogger(l.lo.Logger))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("awsoidc: loading the configuration of the STS client: %w", err)
	}
	if cfg.Region == "" {
		roleARN := l.roleARN
		if roleARN == "" {
			roleARN = os.Getenv(provider.EnvRoleARN)
		}
		cfg.Region = provider.PartitionRegion(roleARN)
	}
	l.client = provider.NewSTSClient(cfg)
	return l.client, nil
}
