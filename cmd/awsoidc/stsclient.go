package main

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// Variables of the SDKs that ask for FIPS or dual-stack endpoints.
const (
	envUseFIPS      = "AWS_USE_FIPS_ENDPOINT"
	envUseDualStack = "AWS_USE_DUALSTACK_ENDPOINT"
)

// newSTSClient returns the STS client of the credential commands and
// doctor: cfg's region and endpoint, the FIPS and dual-stack endpoints when
// AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT ask for them (as the
// SDKs do; not with a custom endpoint, which names the host itself), and
// creds as its credentials (anonymous when nil).
func newSTSClient(cfg *credConfig, creds aws.CredentialsProvider) *sts.Client {
	return provider.NewSTSClient(aws.Config{Region: cfg.region}, func(o *sts.Options) {
		o.Region = cfg.region
		if cfg.endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.endpoint)
		} else {
			if cfg.fips {
				o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
			}
			if cfg.dualStack {
				o.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
			}
		}
		if creds != nil {
			o.Credentials = creds
		}
	})
}

// boolEnv reads a true/false variable of the SDKs, as they do: case
// insensitive, unset or empty meaning false, anything else refused.
func (r *resolver) boolEnv(name string) bool {
	v := strings.TrimSpace(r.getenv(name))
	switch {
	case v == "" || strings.EqualFold(v, "false"):
		return false
	case strings.EqualFold(v, "true"):
		return true
	}
	r.errs = append(r.errs, &flagError{Flag: name, Value: v, Rule: "must be true or false"})
	return false
}
