package awsoidc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/internal/partition"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

// resolver builds one chain, as the SDK's resolveCredentialChain and
// resolveCredsFromProfile (config/resolve_credentials.go) do, with our
// providers and caches in place of theirs.
type resolver struct {
	lo   config.LoadOptions // every option LoadDefaultConfig was given
	env  envSnapshot        // the environment when LoadDefaultConfig ran
	cfg  aws.Config         // the loaded configuration, with anonymous credentials: the legs' clients start from it
	opts Options
	legs []string
}

// resolveChain resolves the credential chain that config.LoadDefaultConfig
// would resolve from lo and env.
func resolveChain(ctx context.Context, lo config.LoadOptions, env envSnapshot, o Options) (*resolvedChain, error) {
	base := lo
	base.Credentials = aws.AnonymousCredentials{}
	cfg, err := config.LoadDefaultConfig(ctx, func(bo *config.LoadOptions) error {
		*bo = base
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("awsoidc: loading the configuration: %w", err)
	}
	shared, err := loadSharedConfig(ctx, lo, env)
	if err != nil {
		return nil, fmt.Errorf("awsoidc: %w", err)
	}
	r := &resolver{lo: lo, env: env, cfg: cfg, opts: o}
	var top aws.CredentialsProvider
	switch {
	case lo.SharedConfigProfile != "":
		top, err = r.fromProfile(ctx, &shared)
	case env.Credentials.HasKeys():
		r.legs = append(r.legs, "environment keys")
		top = credentials.StaticCredentialsProvider{Value: env.Credentials}
	case env.WebIdentityTokenFilePath != "":
		top, err = r.envWebIdentity()
	default:
		top, err = r.fromProfile(ctx, &shared)
	}
	if err == nil {
		top, err = r.optionHops(top)
	}
	if err != nil {
		return nil, fmt.Errorf("awsoidc: %w", err)
	}
	return &resolvedChain{top: top, legs: r.legs}, nil
}

// loadSharedConfig loads the profile LoadDefaultConfig loads: the one
// chosen in code, else AWS_PROFILE, else "default", from the files chosen
// in code, else AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, else
// ~/.aws/config and ~/.aws/credentials. A profile that does not exist is
// an error only when code or AWS_PROFILE names it, as in the SDK
// (config's resolveConfigLoaders); otherwise (the "default" profile, or
// the one of AWS_DEFAULT_PROFILE) it is an empty profile.
func loadSharedConfig(ctx context.Context, lo config.LoadOptions, env envSnapshot) (config.SharedConfig, error) {
	named := lo.SharedConfigProfile != "" || env.profileSet
	profile := lo.SharedConfigProfile
	if profile == "" {
		profile = env.SharedConfigProfile
	}
	if profile == "" {
		profile = config.DefaultSharedConfigProfile
	}
	configFiles, credentialsFiles := lo.SharedConfigFiles, lo.SharedCredentialsFiles
	if configFiles == nil && env.SharedConfigFile != "" {
		configFiles = []string{env.SharedConfigFile}
	}
	if credentialsFiles == nil && env.SharedCredentialsFile != "" {
		credentialsFiles = []string{env.SharedCredentialsFile}
	}
	sc, err := config.LoadSharedConfigProfile(ctx, profile, func(so *config.LoadSharedConfigOptions) {
		so.ConfigFiles, so.CredentialsFiles = configFiles, credentialsFiles
	})
	if err != nil {
		var notExist config.SharedConfigProfileNotExistError
		if !named && errors.As(err, &notExist) {
			return config.SharedConfig{}, nil
		}
		return config.SharedConfig{}, err
	}
	return sc, nil
}

// fromProfile returns the chain of profile sc: its base leg, then the role
// of its role_arn, if any.
func (r *resolver) fromProfile(ctx context.Context, sc *config.SharedConfig) (aws.CredentialsProvider, error) {
	var (
		p   aws.CredentialsProvider
		err error
	)
	switch {
	case sc.Source != nil:
		p, err = r.fromProfile(ctx, sc.Source)
	case sc.Credentials.HasKeys():
		r.legs = append(r.legs, fmt.Sprintf("profile %s keys", sc.Profile))
		p = credentials.StaticCredentialsProvider{Value: sc.Credentials}
	case sc.CredentialSource != "":
		p, err = r.fromCredentialSource(ctx, sc)
	case sc.WebIdentityTokenFile != "":
		// role_arn is the web identity's role, not a role assumed on top.
		return r.profileWebIdentity(sc)
	case hasSSO(sc):
		p, err = r.sso(sc)
	case sc.LoginSession != "":
		p, err = r.login(sc)
	case sc.CredentialProcess != "":
		p = r.process(sc)
	case r.env.ContainerCredentialsRelativePath != "":
		p = r.container(ecsContainerEndpoint + r.env.ContainerCredentialsRelativePath)
	case r.env.ContainerCredentialsEndpoint != "":
		p, err = r.localContainer(ctx, r.env.ContainerCredentialsEndpoint)
	default:
		p = r.imds()
	}
	if err != nil {
		return nil, err
	}
	if sc.RoleARN != "" {
		return r.assumeRole(p, sc)
	}
	return p, nil
}

// fromCredentialSource returns the base leg a credential_source names.
func (r *resolver) fromCredentialSource(ctx context.Context, sc *config.SharedConfig) (aws.CredentialsProvider, error) {
	switch sc.CredentialSource {
	case "Ec2InstanceMetadata":
		return r.imds(), nil
	case "Environment":
		r.legs = append(r.legs, "environment keys")
		return credentials.StaticCredentialsProvider{Value: r.env.Credentials}, nil
	case "EcsContainer":
		if r.env.ContainerCredentialsRelativePath != "" {
			return r.container(ecsContainerEndpoint + r.env.ContainerCredentialsRelativePath), nil
		}
		if r.env.ContainerCredentialsEndpoint != "" {
			return r.localContainer(ctx, r.env.ContainerCredentialsEndpoint)
		}
		return nil, fmt.Errorf("profile %q: credential_source EcsContainer needs AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI, and neither is set", sc.Profile)
	default:
		return nil, fmt.Errorf("profile %q: credential_source %q must be EcsContainer, Ec2InstanceMetadata or Environment", sc.Profile, sc.CredentialSource)
	}
}

// envWebIdentity is the web identity leg of AWS_WEB_IDENTITY_TOKEN_FILE,
// AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME: [provider.FromEnvironment], or
// [provider.New] with the role that config.WithWebIdentityRoleCredentialOptions
// sets in place of AWS_ROLE_ARN, or with the variables of the snapshot when
// they have changed since.
func (r *resolver) envWebIdentity() (aws.CredentialsProvider, error) {
	s, err := r.webIdentitySettings("web identity (environment)", r.env.RoleARN, r.env.RoleSessionName)
	if err != nil {
		return nil, err
	}
	var p *provider.Provider
	if s.roleARN == r.env.RoleARN && r.env.webIdentityUnchanged() {
		p, err = provider.FromEnvironment(s.stsClient(r), s.providerOptions(nil, r.opts)...)
	} else {
		path := r.env.WebIdentityTokenFilePath
		p, err = provider.New(s.stsClient(r), s.roleARN, tokensource.File(path), s.providerOptions(func(po *provider.Options) {
			po.RoleSessionName = r.env.RoleSessionName
			po.SourceID = path
		}, r.opts)...)
	}
	if err != nil {
		return nil, err
	}
	r.legs = append(r.legs, "web identity (environment)")
	return newCache(p, r.opts), nil
}

// profileWebIdentity is the web identity leg of a profile's role_arn,
// web_identity_token_file, role_session_name and duration_seconds.
func (r *resolver) profileWebIdentity(sc *config.SharedConfig) (aws.CredentialsProvider, error) {
	if sc.RoleARN == "" {
		return nil, fmt.Errorf("profile %q: web_identity_token_file needs role_arn", sc.Profile)
	}
	s, err := r.webIdentitySettings(fmt.Sprintf("profile %q", sc.Profile), sc.RoleARN, sc.RoleSessionName)
	if err != nil {
		return nil, err
	}
	fns := s.providerOptions(func(po *provider.Options) {
		po.RoleSessionName = sc.RoleSessionName
		po.Duration = profileDuration(sc)
		po.SourceID = sc.WebIdentityTokenFile
	}, r.opts)
	p, err := provider.New(s.stsClient(r), s.roleARN, tokensource.File(sc.WebIdentityTokenFile), fns...)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", sc.Profile, err)
	}
	r.legs = append(r.legs, fmt.Sprintf("web identity %s (profile %s)", s.roleARN, sc.Profile))
	return newCache(p, r.opts), nil
}

// profileDuration is duration_seconds as the SDK applies it to assumed
// roles: longer than 15 whole minutes, or else STS's default (0).
func profileDuration(sc *config.SharedConfig) time.Duration {
	if d := sc.RoleDurationSeconds; d != nil && *d/time.Minute > 15 {
		return *d
	}
	return 0
}

// webIdentityClient is the STS client of a web identity leg:
// [Options].STSClient, else an anonymous client of the loaded
// configuration (see stsClient).
func (r *resolver) webIdentityClient(roleARN string) provider.STSClient {
	if r.opts.STSClient != nil {
		return r.opts.STSClient
	}
	return r.stsClient(roleARN, aws.AnonymousCredentials{})
}

// stsClient is an STS client of the loaded configuration with creds, in
// the usual STS region of roleARN's partition when no region is
// configured, with the meter and tracer providers of the options. It is
// built with sts.NewFromConfig, as the SDK's own clients are, so that the
// endpoint resolves as theirs does (AWS_ENDPOINT_URL_STS, services
// sections, a base endpoint in code).
func (r *resolver) stsClient(roleARN string, creds aws.CredentialsProvider) *sts.Client {
	cfg := r.regional(roleARN)
	cfg.Credentials = creds
	mp, tp := r.opts.MeterProvider, r.opts.TracerProvider
	return sts.NewFromConfig(cfg, func(so *sts.Options) {
		if mp != nil {
			so.MeterProvider = mp
		}
		if tp != nil {
			so.TracerProvider = tp
		}
	})
}

// regional returns the loaded configuration, in the usual STS region of
// roleARN's partition when it has no region.
func (r *resolver) regional(roleARN string) aws.Config {
	cfg := r.cfg.Copy()
	if cfg.Region == "" {
		cfg.Region = partition.Region(roleARN)
	}
	return cfg
}

// cached puts a leg other than web identity behind a cache with the
// caller's cache options, less a persistent store: only a web identity leg
// has a key that tells one identity's credentials from another's.
func (r *resolver) cached(p aws.CredentialsProvider, leg string) *cache.Cache {
	r.legs = append(r.legs, leg)
	o := r.opts
	fns := make([]func(*cache.Options), 0, len(o.Cache)+2)
	fns = append(fns, func(co *cache.Options) {
		co.MeterProvider, co.TracerProvider = o.MeterProvider, o.TracerProvider
	})
	fns = append(fns, o.Cache...)
	fns = append(fns, func(co *cache.Options) {
		co.Store, co.StoreKey, co.StoreKeyFunc = nil, "", nil
	})
	return cache.New(p, fns...)
}
