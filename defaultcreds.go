package awsoidc

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc/internal/flight"
)

// WithDefaultCredentials returns a config.LoadDefaultConfig option that
// resolves credentials from the same sources, in the same order, as
// config.LoadDefaultConfig itself, and refreshes every one of them ahead of
// expiry:
//
//	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithDefaultCredentials())
//
// The sources, first match wins (docs/drop-in.md has the table): with a
// profile chosen in code (config.WithSharedConfigProfile), that profile;
// otherwise the environment keys (AWS_ACCESS_KEY_ID ...), then web identity
// from the environment (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
// AWS_ROLE_SESSION_NAME), then the profile of AWS_PROFILE or "default". A
// profile gives static keys, web identity (web_identity_token_file,
// role_arn, role_session_name), SSO (sso_session or the legacy keys),
// login_session, credential_process, or else the container endpoint
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI) or EC2 instance
// metadata; role_arn with source_profile or credential_source (Environment,
// Ec2InstanceMetadata, EcsContainer) assumes roles on top, with external_id,
// duration_seconds and role_session_name, through any number of profiles.
// The shared files are parsed by the SDK (config.LoadSharedConfigProfile),
// never by awsoidc.
//
// Each web identity leg is a [provider.Provider] (as made by [provider.New]
// and, from the environment, [provider.FromEnvironment]), and each role_arn
// on top of another source a [provider.AssumeRole] hop (the SDK's
// stscreds.AssumeRoleProvider for a profile with mfa_serial or
// duration_seconds over one hour, or when
// config.WithAssumeRoleCredentialOptions is given). Every leg that can
// expire (web identity, SSO, login, process, container, instance metadata,
// each assumed role) sits behind its own [cache.Cache], so no SDK call
// waits for any of them while valid credentials are cached, and valid
// credentials are served through an outage of the source (instance
// metadata credentials are then extended past their expiry, as the SDK
// extends them). Static keys are used as they are. [Options].Provider applies to the web identity legs,
// [Options].STSClient is their STS client, and [Options].Cache applies to
// every cache (a persistent Store only to the web identity legs, keyed as
// for [WithWebIdentity]). The hops of [Options].Chain are assumed on top of
// whatever the sources resolve to, each behind its own cache; a bad hop
// fails LoadDefaultConfig. The SDK's per-provider options given to
// LoadDefaultConfig (config.WithWebIdentityRoleCredentialOptions,
// WithAssumeRoleCredentialOptions, WithSSOProviderOptions,
// WithProcessCredentialOptions, WithEndpointCredentialOptions,
// WithEC2RoleCredentialOptions) apply to the legs they name; a web
// identity TokenRetriever is refused by name, as the legs read the token
// file themselves.
//
// Credentials given to LoadDefaultConfig with config.WithCredentialsProvider
// win, before or after this option, as they do in the SDK.
//
// The sources are resolved on the first Retrieve (the first SDK call), not
// by LoadDefaultConfig: an option runs before the options after it, and
// those (a profile, shared files, a region) decide the result. The
// environment variables that choose the sources are read while
// LoadDefaultConfig runs, as the SDK reads them, so that clearing them
// after loading changes nothing. What
// LoadDefaultConfig checks itself still fails there: a profile named in code
// or by AWS_PROFILE that does not exist (config.SharedConfigProfileNotExistError),
// a source_profile that does not exist, a malformed file. The first
// Retrieve reports the rest (an unknown credential_source, a web identity
// profile without role_arn, an invalid role ARN or session name); call
// cfg.Credentials.Retrieve once after loading to see them at start-up. A
// resolution that fails is tried again on the next Retrieve; one that
// succeeds is kept for the life of the configuration.
func WithDefaultCredentials(optFns ...func(*Options)) config.LoadOptionsFunc {
	return func(lo *config.LoadOptions) error {
		if lo.Credentials != nil {
			return nil
		}
		d, err := newDefaultCreds(lo, optFns)
		if err != nil {
			return err
		}
		useCredentials(lo, d)
		return nil
	}
}

// newDefaultCreds checks the options and reads the environment for
// [WithDefaultCredentials]; the chain is resolved on first use.
func newDefaultCreds(lo *config.LoadOptions, optFns []func(*Options)) (*defaultCreds, error) {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if err := validateHops(o.Chain); err != nil {
		return nil, err
	}
	env, err := readEnv()
	if err != nil {
		return nil, err
	}
	d := &defaultCreds{lo: lo, env: env, opts: o}
	d.resolving.Timeout = resolveTimeout
	return d, nil
}

// resolveTimeout bounds one resolution, which runs on when its callers
// leave: it reads files, and may reach the instance metadata service (with
// AWS_DEFAULTS_MODE=auto) to load the configuration the legs' clients use.
const resolveTimeout = time.Minute

// defaultCreds is the credentials provider of [WithDefaultCredentials]: the
// chain it resolves on first use, from the options LoadDefaultConfig was
// finally given.
type defaultCreds struct {
	lo   *config.LoadOptions // read once per resolution, after LoadDefaultConfig applied every option
	env  envSnapshot         // the environment while LoadDefaultConfig ran
	opts Options

	resolving flight.Group[*resolvedChain]  // runs one resolution at a time; waiters leave with their ctx
	chain     atomic.Pointer[resolvedChain] // nil until a resolution succeeds
}

// resolvedChain is a resolved credential chain: its last leg, and what each leg is.
type resolvedChain struct {
	top  aws.CredentialsProvider
	legs []string // e.g. "web identity (profile ci)", "assume role arn:...", outermost last
}

// Retrieve returns the credentials of the resolved chain, resolving it
// first when needed. It implements aws.CredentialsProvider.
func (d *defaultCreds) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := d.get(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	return c.top.Retrieve(ctx)
}

// get returns the resolved chain: an atomic load once resolved.
func (d *defaultCreds) get(ctx context.Context) (*resolvedChain, error) {
	if c := d.chain.Load(); c != nil {
		return c, nil
	}
	return d.resolving.Do(ctx, func(ctx context.Context) (*resolvedChain, error) {
		if c := d.chain.Load(); c != nil {
			return c, nil
		}
		c, err := resolveChain(ctx, *d.lo, d.env, d.opts)
		if err != nil {
			return nil, err
		}
		d.chain.Store(c)
		return c, nil
	})
}

// IsCredentialsProvider reports whether target is the resolved chain's
// last leg or what that leg wraps, as aws.IsCredentialsProvider does; before
// a resolution succeeds, nothing is. Through it [RetryExpired] reaches the
// last leg's cache.
func (d *defaultCreds) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	c := d.chain.Load()
	return c != nil && aws.IsCredentialsProvider(c.top, target)
}

// AdjustExpiresBy implements aws.AdjustExpiresByCredentialsCacheStrategy
// for the SDK's aws.CredentialsCache, which LoadDefaultConfig puts in front
// of this provider: the Expires a [cache.Cache] hands out already is the
// moment it wants to be asked again, so creds are returned unchanged, as
// [cache.Cache.AdjustExpiresBy] does. Static keys do not expire.
func (d *defaultCreds) AdjustExpiresBy(creds aws.Credentials, _ time.Duration) (aws.Credentials, error) {
	return creds, nil
}

// ProviderSources implements aws.CredentialProviderSource for the SDK's
// feature tracking: the sources of the resolved chain's last leg, none
// before it is resolved.
func (d *defaultCreds) ProviderSources() []aws.CredentialSource {
	if c := d.chain.Load(); c != nil {
		if s, ok := c.top.(aws.CredentialProviderSource); ok {
			return s.ProviderSources()
		}
	}
	return []aws.CredentialSource{}
}

// String describes the chain, legs first to last, without any credential
// or token.
func (d *defaultCreds) String() string {
	c := d.chain.Load()
	if c == nil {
		return "awsoidc.WithDefaultCredentials(unresolved)"
	}
	return fmt.Sprintf("awsoidc.WithDefaultCredentials(%q)", c.legs)
}

// GoString is String, so that %#v prints no field either.
func (d *defaultCreds) GoString() string { return d.String() }
