package awsoidc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/signin"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/awsoidc/awsoidc/provider"
)

// The legs other than web identity: the SDK's own providers, configured
// as config.LoadDefaultConfig configures them, each behind a cache.

// ecsContainerEndpoint is the host of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
const ecsContainerEndpoint = "http://169.254.170.2"

// hasSSO reports whether a profile is configured for SSO, with an
// sso_session or with the legacy keys.
func hasSSO(sc *config.SharedConfig) bool {
	return sc.SSOSessionName != "" || sc.SSORegion != "" || sc.SSOAccountID != "" || sc.SSOStartURL != "" || sc.SSORoleName != ""
}

// validateSSO checks an SSO profile as the SDK does before building its
// provider.
func validateSSO(sc *config.SharedConfig) error {
	var missing []string
	if sc.SSOSessionName != "" {
		if sc.SSOSession == nil {
			missing = append(missing, "sso-session section")
		} else {
			if sc.SSOSession.SSORegion == "" {
				missing = append(missing, "sso_region")
			}
			if sc.SSOSession.SSOStartURL == "" {
				missing = append(missing, "sso_start_url")
			}
		}
	} else {
		for _, k := range [][2]string{{"sso_region", sc.SSORegion}, {"sso_start_url", sc.SSOStartURL}, {"sso_account_id", sc.SSOAccountID}, {"sso_role_name", sc.SSORoleName}} {
			if k[1] == "" {
				missing = append(missing, k[0])
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("profile %q is configured to use SSO but is missing %s", sc.Profile, strings.Join(missing, ", "))
	}
	if s := sc.SSOSession; s != nil {
		if sc.SSORegion != "" && sc.SSORegion != s.SSORegion {
			return fmt.Errorf("profile %q: sso_region must match sso_region of sso-session %q", sc.Profile, s.Name)
		}
		if sc.SSOStartURL != "" && sc.SSOStartURL != s.SSOStartURL {
			return fmt.Errorf("profile %q: sso_start_url must match sso_start_url of sso-session %q", sc.Profile, s.Name)
		}
	}
	return nil
}

// sso is the SSO leg: ssocreds, with the sso-session's token provider
// (which refreshes the cached SSO token) or the legacy cached token.
func (r *resolver) sso(sc *config.SharedConfig) (aws.CredentialsProvider, error) {
	if err := validateSSO(sc); err != nil {
		return nil, err
	}
	var fns []func(*ssocreds.Options)
	if r.lo.SSOProviderOptions != nil {
		fns = append(fns, r.lo.SSOProviderOptions)
	}
	cfg := r.cfg.Copy()
	if s := sc.SSOSession; s != nil {
		cfg.Region = s.SSORegion
		path, err := ssocreds.StandardCachedTokenFilepath(s.Name)
		if err != nil {
			return nil, err
		}
		var tfns []func(*ssocreds.SSOTokenProviderOptions)
		if r.lo.SSOTokenProviderOptions != nil {
			tfns = append(tfns, r.lo.SSOTokenProviderOptions)
		}
		tp := ssocreds.NewSSOTokenProvider(ssooidc.NewFromConfig(cfg), path, tfns...)
		fns = append(fns, func(o *ssocreds.Options) {
			o.SSOTokenProvider = tp
			o.CachedTokenFilepath = path
		})
	} else {
		cfg.Region = sc.SSORegion
	}
	p := ssocreds.New(sso.NewFromConfig(cfg), sc.SSOAccountID, sc.SSORoleName, sc.SSOStartURL, fns...)
	path, err := ssoCachePath(sc, fns)
	if err != nil {
		return nil, err
	}
	q := tokenFileScrubbing{p: p, path: path, secrets: ssoSecrets, sources: []aws.CredentialSource{aws.CredentialSourceSSO}, name: "sso"}
	return r.cached(q, fmt.Sprintf("sso %s/%s (profile %s)", sc.SSOAccountID, sc.SSORoleName, sc.Profile)), nil
}

// ssoCachePath is the SSO token cache file the provider of fns reads: the
// one its options name, else the start URL's (legacy keys).
func ssoCachePath(sc *config.SharedConfig, fns []func(*ssocreds.Options)) (string, error) {
	var o ssocreds.Options
	for _, fn := range fns {
		fn(&o)
	}
	if o.CachedTokenFilepath != "" {
		return o.CachedTokenFilepath, nil
	}
	return ssocreds.StandardCachedTokenFilepath(sc.SSOStartURL)
}

// login is the leg of a profile's login_session (aws login).
func (r *resolver) login(sc *config.SharedConfig) (aws.CredentialsProvider, error) {
	path, err := logincreds.StandardCachedTokenFilepath(sc.LoginSession, r.env.loginCacheDir)
	if err != nil {
		return nil, err
	}
	p := logincreds.New(signin.NewFromConfig(r.cfg), path, func(o *logincreds.Options) {
		o.RestrictPermissions = r.cfg.RestrictFilePermissions != aws.RestrictFilePermissionsUnrestricted
	})
	q := tokenFileScrubbing{p: p, path: path, secrets: loginSecrets, sources: []aws.CredentialSource{aws.CredentialSourceLogin}, name: "login"}
	return r.cached(q, fmt.Sprintf("login (profile %s)", sc.Profile)), nil
}

// process is the leg of a profile's credential_process.
func (r *resolver) process(sc *config.SharedConfig) aws.CredentialsProvider {
	var fns []func(*processcreds.Options)
	if r.lo.ProcessCredentialOptions != nil {
		fns = append(fns, r.lo.ProcessCredentialOptions)
	}
	return r.cached(quietProcess{processcreds.NewProvider(sc.CredentialProcess, fns...)}, fmt.Sprintf("credential_process (profile %s)", sc.Profile))
}

// quietProcess is a credential_process leg whose errors never quote the
// process's output: processcreds quotes all of it when it is not valid
// JSON, and it may hold a secret access key.
type quietProcess struct{ p aws.CredentialsProvider }

// Retrieve runs the process.
func (q quietProcess) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := q.p.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	var pe *processcreds.ProviderError
	if errors.As(err, &pe) && pe.Err != nil && strings.HasPrefix(pe.Err.Error(), "parse failed of process output") {
		return aws.Credentials{}, fmt.Errorf("credential_process: the output is not credential_process JSON (not quoted, as it may hold credentials): %w", errors.Unwrap(pe.Err))
	}
	return aws.Credentials{}, err
}

// ProviderSources reports the process's sources.
func (q quietProcess) ProviderSources() []aws.CredentialSource {
	return []aws.CredentialSource{aws.CredentialSourceProfileProcess, aws.CredentialSourceProcess}
}

// container is the leg of a container credentials endpoint, with the
// authorization token of AWS_CONTAINER_AUTHORIZATION_TOKEN, or of the file
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE read on every call. Its errors are
// scrubbed of the token, which an endpoint may echo back.
func (r *resolver) container(endpoint string, optFns ...func(*endpointcreds.Options)) aws.CredentialsProvider {
	s := &scrubbing{}
	if t := r.env.ContainerAuthorizationToken; t != "" {
		s.static = t
	}
	fns := []func(*endpointcreds.Options){func(o *endpointcreds.Options) {
		if s.static != "" {
			o.AuthorizationToken = s.static
		}
		if path := r.env.containerTokenFile; path != "" {
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(path) //nolint:gosec // G304: the file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names, read as the SDK reads it
				if err != nil {
					return "", fmt.Errorf("reading the authorization token file %s: %w", path, err)
				}
				s.last.Store(new(string(b)))
				return string(b), nil
			})
		}
		o.APIOptions = r.cfg.APIOptions
		if r.cfg.Retryer != nil {
			o.Retryer = r.cfg.Retryer()
		}
	}}
	fns = append(fns, optFns...)
	if r.lo.EndpointCredentialOptions != nil {
		fns = append(fns, r.lo.EndpointCredentialOptions)
	}
	s.p = endpointcreds.New(endpoint, fns...)
	return r.cached(s, "container endpoint "+redactedURL(endpoint))
}

// localContainer is the leg of AWS_CONTAINER_CREDENTIALS_FULL_URI, which
// over plain http must name a loopback host or the ECS or EKS agent, then
// and at every connection (guardDial).
func (r *resolver) localContainer(ctx context.Context, endpoint string) (aws.CredentialsProvider, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		// Not quoted: url.Parse's error quotes the URL, password included.
		return nil, errors.New("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL")
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI %q has no host", u.Redacted())
	}
	if u.Scheme == "http" {
		ok, err := allowedHost(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: resolving host %q: %w", host, err)
		}
		if !ok {
			return nil, fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: host %q must be a loopback address or the ECS or EKS container agent over http", host)
		}
		return r.container(endpoint, guardDial), nil
	}
	return r.container(endpoint), nil
}

// redactedURL is endpoint with any password of its user info masked, for
// the leg's description.
func redactedURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(not a valid URL)"
	}
	return u.Redacted()
}

// containerAgents are the addresses of the ECS and EKS container agents.
var containerAgents = []net.IP{net.IPv4(169, 254, 170, 2), net.IPv4(169, 254, 170, 23), net.ParseIP("fd00:ec2::23")}

// allowedHost reports whether every address of host is loopback or a
// container agent's, as the SDK requires of an http endpoint.
func allowedHost(ctx context.Context, host string) (bool, error) {
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		var err error
		if addrs, err = net.DefaultResolver.LookupHost(ctx, host); err != nil {
			return false, err
		}
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !allowedIP(ip) {
			return false, nil
		}
	}
	return true, nil
}

// scrubbing is an endpoint provider whose errors never carry the
// authorization token.
type scrubbing struct {
	p      aws.CredentialsProvider
	static string                 // AWS_CONTAINER_AUTHORIZATION_TOKEN
	last   atomic.Pointer[string] // the last token read from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
}

// Retrieve calls the endpoint.
func (s *scrubbing) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := s.p.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	secrets := []string{s.static}
	if t := s.last.Load(); t != nil {
		secrets = append(secrets, *t, strings.TrimSpace(*t))
	}
	return aws.Credentials{}, scrub("container credentials endpoint: ", err, secrets...)
}

// String describes the provider without its tokens.
func (s *scrubbing) String() string { return "container credentials endpoint" }

// ProviderSources reports the container endpoint's source, as the SDK's
// resolution reports it.
func (s *scrubbing) ProviderSources() []aws.CredentialSource {
	return []aws.CredentialSource{aws.CredentialSourceHTTP}
}

// imds is the leg of the EC2 instance metadata service, whose
// credentials are extended through an outage as the SDK extends them.
func (r *resolver) imds() aws.CredentialsProvider {
	var fns []func(*ec2rolecreds.Options)
	if r.lo.EC2RoleCredentialOptions != nil {
		fns = append(fns, r.lo.EC2RoleCredentialOptions)
	}
	fns = append(fns, func(o *ec2rolecreds.Options) {
		if o.Client == nil {
			o.Client = imds.NewFromConfig(r.cfg)
		}
	})
	return r.cached(newIMDSStable(ec2rolecreds.New(fns...), r.opts), "instance metadata")
}

// assumeRole is the leg of a profile's role_arn on top of base: a
// [provider.AssumeRole] hop, signed with base's credentials, whose inputs
// are checked before any call. A profile that needs what only the SDK's
// stscreds.AssumeRoleProvider has takes that instead (sdkAssumeRole).
func (r *resolver) assumeRole(base aws.CredentialsProvider, sc *config.SharedConfig) (aws.CredentialsProvider, error) {
	if sc.MFASerial != "" || r.lo.AssumeRoleCredentialOptions != nil || profileDuration(sc) > time.Hour {
		return r.sdkAssumeRole(base, sc)
	}
	hop := provider.Hop{
		RoleARN:         sc.RoleARN,
		RoleSessionName: sc.RoleSessionName,
		ExternalID:      sc.ExternalID,
		Duration:        profileDuration(sc),
	}
	p, err := provider.NewAssumeRole(r.stsClient(sc.RoleARN, base), base, hop)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", sc.Profile, err)
	}
	return r.cached(p, fmt.Sprintf("assume role %s (profile %s)", sc.RoleARN, sc.Profile)), nil
}

// sdkAssumeRole is the leg of a profile's role_arn as the SDK builds it,
// stscreds.AssumeRoleProvider, for what a [provider.Hop] does not have: an
// mfa_serial (with the token provider of
// config.WithAssumeRoleCredentialOptions), the SDK's own AssumeRole
// options, or a duration_seconds over one hour (a session that is not
// role-chained, assumed with an IAM user's keys, may last up to 12 hours).
func (r *resolver) sdkAssumeRole(base aws.CredentialsProvider, sc *config.SharedConfig) (aws.CredentialsProvider, error) {
	fns := []func(*stscreds.AssumeRoleOptions){func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sc.RoleSessionName
		o.Duration = profileDuration(sc)
		if sc.ExternalID != "" {
			o.ExternalID = aws.String(sc.ExternalID)
		}
		if sc.MFASerial != "" {
			o.SerialNumber = aws.String(sc.MFASerial)
		}
	}}
	if r.lo.AssumeRoleCredentialOptions != nil {
		fns = append(fns, r.lo.AssumeRoleCredentialOptions)
	}
	var check stscreds.AssumeRoleOptions
	for _, fn := range fns {
		fn(&check)
	}
	if check.SerialNumber != nil && check.TokenProvider == nil {
		return nil, fmt.Errorf("profile %q: %w", sc.Profile, config.AssumeRoleTokenProviderNotSetError{})
	}
	p := stscreds.NewAssumeRoleProvider(r.stsClient(sc.RoleARN, base), sc.RoleARN, fns...)
	return r.cached(p, fmt.Sprintf("assume role %s (profile %s)", sc.RoleARN, sc.Profile)), nil
}
