package awsoidc

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// hopSTS is the STS client of the hops of [Options].Chain when
// Options.STSClient cannot call AssumeRole: the client that [lazySTS]
// builds on first use, shared with the web identity provider. That client's
// own credentials are anonymous, yet every hop's AssumeRole is signed:
// [provider.AssumeRole] sets sts.Options.Credentials to the previous step's
// cache on each call.
type hopSTS struct{ lazy *lazySTS }

// AssumeRole implements [provider.AssumeRoleClient].
func (h hopSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	c, err := h.lazy.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.AssumeRole(ctx, in, optFns...)
}

// hopClient returns the client of the chain's hops: Options.STSClient when
// it can call AssumeRole (a *sts.Client can), else the lazily built one.
func hopClient(lazy *lazySTS, o Options) provider.AssumeRoleClient {
	if c, ok := o.STSClient.(provider.AssumeRoleClient); ok {
		return c
	}
	return hopSTS{lazy: lazy}
}
