package provider

import (
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Environment variables that point the STS client at another endpoint,
// as the SDK's shared configuration defines them.
const (
	envEndpointSTS     = "AWS_ENDPOINT_URL_STS"
	envEndpoint        = "AWS_ENDPOINT_URL"
	envIgnoreEndpoints = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// NewSTSClient returns an STS client for a [Provider], built from cfg like
// sts.NewFromConfig with three differences:
//
//   - its credentials are aws.AnonymousCredentials: AssumeRoleWithWebIdentity
//     is an unsigned call, and a cfg whose Credentials are the very provider
//     being built must not send the client into the credential chain again;
//   - it honours AWS_ENDPOINT_URL_STS (then AWS_ENDPOINT_URL) even when cfg
//     was built by hand rather than by config.LoadDefaultConfig, unless
//     AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is "true";
//   - an empty region becomes us-east-1, the region of STS's global
//     endpoint (sts.amazonaws.com), which serves every account of the aws
//     partition; the SDK itself fails with "Missing Region" there. Set
//     AWS_REGION to use your region's STS endpoint, as AWS recommends.
//
// optFns run last, so an explicit BaseEndpoint or Region there wins. The
// provider turns the client's own retries off per call (it owns the retry
// policy), so there is no need to configure them here.
func NewSTSClient(cfg aws.Config, optFns ...func(*sts.Options)) *sts.Client {
	return newSTSClient(cfg, "us-east-1", optFns...)
}

// newSTSClient is NewSTSClient with the region to use when cfg has none.
func newSTSClient(cfg aws.Config, region string, optFns ...func(*sts.Options)) *sts.Client {
	cfg = cfg.Copy()
	cfg.Credentials = aws.AnonymousCredentials{}
	fns := make([]func(*sts.Options), 0, len(optFns)+1)
	fns = append(fns, func(o *sts.Options) {
		o.Credentials = aws.AnonymousCredentials{}
		if o.Region == "" {
			o.Region = region
		}
		if ep, ok := endpointFromEnv(o.BaseEndpoint != nil); ok {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	fns = append(fns, optFns...)
	return sts.NewFromConfig(cfg, fns...)
}

// endpointFromEnv returns the STS endpoint the environment configures:
// AWS_ENDPOINT_URL_STS, or AWS_ENDPOINT_URL when no endpoint is set yet.
// This is the SDK's precedence: a service-specific variable beats the
// global one and cfg.BaseEndpoint.
func endpointFromEnv(haveEndpoint bool) (string, bool) {
	if strings.EqualFold(os.Getenv(envIgnoreEndpoints), "true") {
		return "", false
	}
	if ep := os.Getenv(envEndpointSTS); ep != "" {
		return ep, true
	}
	if ep := os.Getenv(envEndpoint); ep != "" && !haveEndpoint {
		return ep, true
	}
	return "", false
}
