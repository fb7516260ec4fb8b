package awsoidc

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// validateHops checks the hops of [Options].Chain when
// [WithDefaultCredentials] runs, so that a bad hop fails LoadDefaultConfig
// as it does with [WithWebIdentity]. The client and base given here only
// satisfy the checks that they are set: nothing is called, and the hops
// are built again with their real client and base when the chain is
// resolved (optionHops).
func validateHops(hops []provider.Hop) error {
	var errs []error
	for i, hop := range hops {
		if _, err := provider.NewAssumeRole(sts.New(sts.Options{}), aws.AnonymousCredentials{}, hop); err != nil {
			errs = append(errs, renameHopFields(err, i))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("awsoidc: %w", errors.Join(errs...))
	}
	return nil
}

// optionHops assumes the roles of [Options].Chain on top of the resolved
// source, in order: each hop is a [provider.AssumeRole] signed with the
// credentials of the step before it, behind its own cache. Their calls go
// through Options.STSClient when it can call AssumeRole, else through an
// STS client of the loaded configuration.
func (r *resolver) optionHops(top aws.CredentialsProvider) (aws.CredentialsProvider, error) {
	for i, hop := range r.opts.Chain {
		client, ok := r.opts.STSClient.(provider.AssumeRoleClient)
		if !ok {
			client = r.stsClient(hop.RoleARN, top)
		}
		a, err := provider.NewAssumeRole(client, top, hop)
		if err != nil {
			return nil, renameHopFields(err, i)
		}
		top = r.cached(a, fmt.Sprintf("assume role %s (Options.Chain[%d])", hop.RoleARN, i))
	}
	return top, nil
}
