package awsoidc

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

// WithWebIdentity returns a config.LoadDefaultConfig option that makes the
// loaded configuration use credentials for roleARN obtained with tokens from
// src, cached and refreshed ahead of expiry:
//
//	cfg, err := config.LoadDefaultConfig(ctx,
//		awsoidc.WithWebIdentity(roleARN, tokensource.File(path)))
//
// Unless [Options].STSClient is set, STS is called by an anonymous client
// built on first use from the configuration being loaded: the region (else
// the usual STS region of the role's partition), profile, shared files,
// base endpoint, FIPS and dual-stack settings, HTTP client and logger that
// LoadDefaultConfig was given, wherever they stand among its options, and
// the environment (AWS_ENDPOINT_URL_STS). A build that fails (a missing
// profile, say) is tried again on the next refresh. Invalid inputs make
// LoadDefaultConfig fail before any call to STS. A role ARN without an
// account (Ceph RGW's arn:aws:iam:::role/<name>) needs an STS endpoint
// outside AWS, set in the environment, the shared config, or by a
// config.WithBaseEndpoint given before this option.
//
// When any service answers that the credentials a request was signed with
// have expired (ExpiredToken, ExpiredTokenException), they are dropped, if
// they are still the cached ones, and the request is retried once with
// fresh ones ([RetryExpired], added to every client of the configuration).
//
// With [Options].Chain, the credentials are those of the chain's last hop:
// each hop assumes its role with the previous step's credentials and has its
// own cache, refreshed ahead like the first (docs/chains.md).
func WithWebIdentity(roleARN string, src tokensource.Source, optFns ...func(*Options)) config.LoadOptionsFunc {
	return func(lo *config.LoadOptions) error {
		var o Options
		for _, fn := range optFns {
			fn(&o)
		}
		lazy := newLazySTS(lo, roleARN, o)
		var client provider.STSClient = lazy
		if o.STSClient != nil {
			client = o.STSClient
		}
		p, err := provider.New(client, roleARN, src, o.providerOptions()...)
		if err != nil {
			return fmt.Errorf("awsoidc: %w", err)
		}
		creds, err := withChain(p, hopClient(lazy, o), o)
		if err != nil {
			return err
		}
		useCredentials(lo, creds)
		return nil
	}
}

// WithIRSA returns a config.LoadDefaultConfig option for a Kubernetes pod
// with IAM roles for service accounts: the role comes from AWS_ROLE_ARN,
// tokens from the file named by AWS_WEB_IDENTITY_TOKEN_FILE (read again on
// every refresh, as the kubelet rotates it), and the session name from
// AWS_ROLE_SESSION_NAME when set:
//
//	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithIRSA())
//
// Unlike the SDK's own web identity provider, the credentials are refreshed
// in the background before they expire, so no SDK call waits on STS while
// credentials are valid. When a variable is missing, LoadDefaultConfig fails
// with a [provider.MissingEnvError] naming every missing variable. The STS
// client is built as for [WithWebIdentity].
func WithIRSA(optFns ...func(*Options)) config.LoadOptionsFunc {
	return func(lo *config.LoadOptions) error {
		var o Options
		for _, fn := range optFns {
			fn(&o)
		}
		lazy := newLazySTS(lo, "", o)
		var client provider.STSClient = lazy
		if o.STSClient != nil {
			client = o.STSClient
		}
		p, err := provider.FromEnvironment(client, o.providerOptions()...)
		if err != nil {
			return fmt.Errorf("awsoidc: %w", err)
		}
		creds, err := withChain(p, hopClient(lazy, o), o)
		if err != nil {
			return err
		}
		useCredentials(lo, creds)
		return nil
	}
}

// useCredentials makes creds the credentials of the configuration being
// loaded, inside the aws.CredentialsCache that LoadDefaultConfig would
// otherwise put them in (it keeps an *aws.CredentialsCache as it is given),
// and adds [RetryExpired] for that wrapper to every client: holding the
// wrapper lets the middleware drop the credentials of both layers when a
// service answers that they expired. The wrapper takes the
// config.WithCredentialsCacheOptions given before this option. The
// middleware reads lo when a client builds a request, after
// LoadDefaultConfig applied every option: it stays out when a later
// config.WithCredentialsProvider replaced creds.
func useCredentials(lo *config.LoadOptions, creds aws.CredentialsProvider) {
	wrapper := aws.NewCredentialsCache(creds, func(co *aws.CredentialsCacheOptions) {
		if lo.CredentialsCacheOptions != nil {
			lo.CredentialsCacheOptions(co)
		}
	})
	lo.Credentials = wrapper
	retry := RetryExpired(wrapper)
	lo.APIOptions = append(lo.APIOptions, func(stack *middleware.Stack) error {
		if lo.Credentials != aws.CredentialsProvider(wrapper) {
			return nil // a later config.WithCredentialsProvider replaced ours
		}
		return retry(stack)
	})
}

// newCache puts p behind a cache. Unless the caller chose a key, a
// persistent store is keyed at each refresh by p's session and the
// identity of the token p sends next ([provider.Provider.StoreKey]), so
// that processes sharing the store never serve one identity's credentials
// to another.
func newCache(p *provider.Provider, o Options) *cache.Cache {
	return cache.New(p, cacheOptions(o, func(co *cache.Options) {
		if co.StoreKey == "" && co.StoreKeyFunc == nil {
			co.StoreKeyFunc = p.StoreKey
		}
	})...)
}

// cacheOptions returns the options of a cache: the meter and tracer
// providers of o, then o.Cache, then last.
func cacheOptions(o Options, last func(*cache.Options)) []func(*cache.Options) {
	fns := make([]func(*cache.Options), 0, len(o.Cache)+2)
	fns = append(fns, func(co *cache.Options) {
		co.MeterProvider, co.TracerProvider = o.MeterProvider, o.TracerProvider
	})
	fns = append(fns, o.Cache...)
	return append(fns, last)
}

// providerOptions returns the options of the provider: the meter and
// tracer providers of o, then o.Provider, which may override them.
func (o Options) providerOptions() []func(*provider.Options) {
	fns := make([]func(*provider.Options), 0, len(o.Provider)+1)
	fns = append(fns, func(po *provider.Options) {
		po.MeterProvider, po.TracerProvider = o.MeterProvider, o.TracerProvider
	})
	return append(fns, o.Provider...)
}
