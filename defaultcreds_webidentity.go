package awsoidc

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/awsoidc/awsoidc/provider"
)

// webIdentitySettings are the role, session and STS client of a web
// identity leg once config.WithWebIdentityRoleCredentialOptions has been
// applied, as the SDK applies it to its own web identity provider.
type webIdentitySettings struct {
	roleARN string
	client  provider.STSClient // nil: the leg's usual client
	options func(*provider.Options)
}

// webIdentitySettings applies config.WithWebIdentityRoleCredentialOptions
// over the leg's roleARN and session name, as the SDK does (its function
// runs after them, so what it sets wins): RoleARN, RoleSessionName,
// Duration, Policy, PolicyARNs and Client carry over to the leg.
// [Options].Provider still runs after them. A TokenRetriever is refused:
// the leg reads the token file itself, and ignoring the retriever would
// send another token than the one the program chose.
func (r *resolver) webIdentitySettings(leg, roleARN, sessionName string) (webIdentitySettings, error) {
	s := webIdentitySettings{roleARN: roleARN}
	fn := r.lo.WebIdentityRoleCredentialOptions
	if fn == nil {
		return s, nil
	}
	o := stscreds.WebIdentityRoleOptions{RoleARN: roleARN, RoleSessionName: sessionName}
	fn(&o)
	if o.TokenRetriever != nil {
		return s, fmt.Errorf("%s: config.WithWebIdentityRoleCredentialOptions sets TokenRetriever, which awsoidc does not use: the token comes from the file the configuration names (for tokens from elsewhere, use WithWebIdentity with a tokensource.Source)", leg)
	}
	s.roleARN = o.RoleARN
	if o.Client != nil {
		s.client = o.Client
	}
	policyARNs := make([]string, 0, len(o.PolicyARNs))
	for _, p := range o.PolicyARNs {
		policyARNs = append(policyARNs, aws.ToString(p.Arn))
	}
	s.options = func(po *provider.Options) {
		po.RoleSessionName = o.RoleSessionName
		if o.Duration != 0 {
			po.Duration = o.Duration
		}
		po.Policy = aws.ToString(o.Policy)
		if len(policyARNs) > 0 {
			po.PolicyARNs = policyARNs
		}
	}
	return s, nil
}

// providerOptions returns the options of the leg: base, then those of
// config.WithWebIdentityRoleCredentialOptions, then [Options].Provider.
func (s webIdentitySettings) providerOptions(base func(*provider.Options), o Options) []func(*provider.Options) {
	fns := make([]func(*provider.Options), 0, len(o.Provider)+3)
	if base != nil {
		fns = append(fns, base)
	}
	if s.options != nil {
		fns = append(fns, s.options)
	}
	return append(fns, o.providerOptions()...)
}

// stsClient returns the leg's STS client: [Options].STSClient, else the
// Client of config.WithWebIdentityRoleCredentialOptions, else an anonymous
// client of the loaded configuration.
func (s webIdentitySettings) stsClient(r *resolver) provider.STSClient {
	if r.opts.STSClient == nil && s.client != nil {
		return s.client
	}
	return r.webIdentityClient(s.roleARN)
}
