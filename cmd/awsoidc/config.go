package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/pflag"

	"github.com/awsoidc/awsoidc/internal/partition"
	"github.com/awsoidc/awsoidc/internal/tokenid"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// Environment variables the AWS SDKs define, read when the matching flag is
// not given. Flags always win.
const (
	envRoleARN         = "AWS_ROLE_ARN"                // --role-arn
	envTokenFile       = "AWS_WEB_IDENTITY_TOKEN_FILE" //nolint:gosec // G101: a variable's name, not a credential; --token-file
	envRoleSessionName = "AWS_ROLE_SESSION_NAME"       // --role-session-name
	envRegion          = "AWS_REGION"                  // --region
	envDefaultRegion   = "AWS_DEFAULT_REGION"          // --region, when AWS_REGION is unset
	envEndpointSTS     = "AWS_ENDPOINT_URL_STS"        // --endpoint-url
	envEndpoint        = "AWS_ENDPOINT_URL"            // --endpoint-url, when AWS_ENDPOINT_URL_STS is unset
	envIgnoreEndpoints = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// Defaults of the credential commands.
const (
	// defaultTimeout bounds getting credentials without a prompt: half of
	// the shortest process timeout of the callers (aws-sdk-go-v2's
	// processcreds kills a credential_process after one minute).
	defaultTimeout       = 30 * time.Second
	defaultPromptTimeout = 15 * time.Minute // with --allow-prompt: a person has to act
	maxPolicyFileSize    = 64 << 10
)

// deviceFlags are the flags of a device-flow login.
type deviceFlags struct {
	issuer, clientID string
	scopes           []string
	useAccessToken   bool
	openBrowser      bool // not a flag of logout, which starts no login
}

// register adds the flags that name a login. The commands that may start
// one add --open-browser with registerBrowser.
func (f *deviceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.issuer, "issuer", "", "OpenID Connect issuer URL of the device-flow login (https; http only on loopback)")
	fs.StringVar(&f.clientID, "client-id", "", "OAuth 2.0 client ID of the device-flow login")
	fs.StringSliceVar(&f.scopes, "scope", nil, "scope of the device-flow login, repeatable (default openid,offline_access)")
	fs.BoolVar(&f.useAccessToken, "use-access-token", false, "send the login's access token to STS instead of its ID token (for IdPs that issue JWT access tokens)")
}

func (f *deviceFlags) registerBrowser(fs *pflag.FlagSet) {
	fs.BoolVar(&f.openBrowser, "open-browser", false, "open the verification page in a browser when a login starts")
}

// credFlags are the flags of the commands that get credentials:
// credential-process, env and serve.
type credFlags struct {
	roleARN, sessionName string
	duration             string
	policy               string
	policyARNs           []string
	providerID           string
	region, endpointURL  string
	tokenFile, tokenEnv  string
	tokenSource          string // --token-source
	audience             string // --audience
	tokenExec            string // --token-exec, a command line split without a shell
	device               deviceFlags
	allowPrompt          bool
	cacheDir             string
	noCache              bool
	timeout              time.Duration
}

func (f *credFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.roleARN, "role-arn", "", "ARN of the role to assume (env "+envRoleARN+")")
	fs.StringVar(&f.sessionName, "role-session-name", "", "role session name (env "+envRoleSessionName+"; default: the token's subject when it is a workload identity (Kubernetes service account, GitHub Actions, GitLab CI, ...), else the host name)")
	fs.StringVar(&f.duration, "duration", "", "session duration, 15m to 12h, as a Go duration (1h) or seconds (3600) (default: STS's, one hour)")
	fs.StringVar(&f.policy, "policy", "", "inline session policy JSON, or file://PATH")
	fs.StringArrayVar(&f.policyARNs, "policy-arn", nil, "ARN of a managed session policy, repeatable (up to 10)")
	fs.StringVar(&f.providerID, "provider-id", "", "ProviderId, only for OAuth 2.0 access tokens of www.amazon.com or graph.facebook.com")
	fs.StringVar(&f.region, "region", "", "STS region (env "+envRegion+", "+envDefaultRegion+"; default: the role partition's, e.g. us-east-1)")
	fs.StringVar(&f.endpointURL, "endpoint-url", "", "STS endpoint URL (env "+envEndpointSTS+", "+envEndpoint+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "read the web identity token from this file, again on every refresh (env "+envTokenFile+")")
	fs.StringVar(&f.tokenEnv, "token-env", "", "read the web identity token from this environment variable")
	fs.StringVar(&f.tokenSource, "token-source", "", "where the token comes from: "+strings.Join(tokenSourceNames, ", ")+" (default: file, or env, exec, the device flow when their flags are given)")
	fs.StringVar(&f.audience, "audience", "", "audience of the token that github-actions, gcp, spiffe and auto request (default sts.amazonaws.com); for azure, the resource (default api://AzureADTokenExchange)")
	fs.StringVar(&f.tokenExec, "token-exec", "", "run this command for each token, without a shell (words split as sh does, quotes honoured, nothing expanded); it prints the token, or {\"token\":...,\"expiration\":...}")
	f.device.register(fs)
	f.device.registerBrowser(fs)
	fs.BoolVar(&f.allowPrompt, "allow-prompt", false, "with --issuer: when no login is stored, start one and prompt on the terminal (/dev/tty, else stderr) instead of failing")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "directory of stored credentials and tokens (default: the user cache directory + /awsoidc)")
	fs.BoolVar(&f.noCache, "no-cache", false, "neither read nor write stored credentials: every call asks STS")
	fs.DurationVar(&f.timeout, "timeout", 0, "give up getting credentials after this long (default 30s, 15m with --allow-prompt); while stored credentials that have not expired are at hand, they are printed after at most 3s")
}

// sourceKind is where the web identity token comes from.
type sourceKind int

const (
	sourceFile sourceKind = iota + 1
	sourceEnv
	sourceDevice
	sourceFetch // fetched again at each refresh: --token-source github-actions, gcp, azure, spiffe, exec or auto
)

// credConfig is the resolved, checked configuration of a credential command.
type credConfig struct {
	roleARN       string
	opts          provider.Options // session name, duration, policies, provider ID, source ID
	region        string
	endpoint      string // STS endpoint; empty means the SDK's
	kind          sourceKind
	tokenPath     string   // sourceFile: absolute path
	tokenEnv      string   // sourceEnv: the variable's name
	tokenValue    string   // sourceEnv: its value (secret)
	fips          bool     // AWS_USE_FIPS_ENDPOINT=true, without --endpoint-url
	dualStack     bool     // AWS_USE_DUALSTACK_ENDPOINT=true, without --endpoint-url
	fetch         string   // sourceFetch: the --token-source name
	audience      string   // sourceFetch: --audience, "" for each source's default
	execArgv      []string // sourceFetch "exec": the command
	device        deviceFlags
	prompt        bool
	cacheDir      string // absolute; the default when --cache-dir is not given
	cacheDirGiven bool   // --cache-dir was given
	noCache       bool
	timeout       time.Duration
	origin        map[string]string // flag name -> "--flag" or the variable the value came from
}

// flagError is a flag, or the environment variable standing in for it, whose
// value breaks a rule. It is found before any network call.
type flagError struct {
	Flag  string // "--role-arn", or "AWS_ROLE_ARN" when the value came from there
	Value string // the refused value, empty when secret or empty
	Rule  string
}

func (e *flagError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invalid %s: %s", e.Flag, e.Rule)
	}
	return fmt.Sprintf("invalid %s %q: %s", e.Flag, e.Value, e.Rule)
}

// resolver reads flags, then the environment for the flags not given, and
// remembers where each value came from, for error messages.
type resolver struct {
	fs     *pflag.FlagSet
	getenv func(string) string
	origin map[string]string // flag name -> "--flag" or "ENV_VAR"
	errs   []error
}

func newResolver(fs *pflag.FlagSet, getenv func(string) string) *resolver {
	return &resolver{fs: fs, getenv: getenv, origin: make(map[string]string)}
}

// value returns the flag's value when given, else the first non-empty
// variable of envs, recording the origin.
func (r *resolver) value(name, flagValue string, envs ...string) string {
	r.origin[name] = "--" + name
	if r.fs.Changed(name) {
		return strings.TrimSpace(flagValue)
	}
	for _, e := range envs {
		if v := strings.TrimSpace(r.getenv(e)); v != "" {
			r.origin[name] = e
			return v
		}
	}
	return strings.TrimSpace(flagValue)
}

func (r *resolver) fail(name, value, rule string, args ...any) {
	flag := r.origin[name]
	if flag == "" {
		flag = "--" + name
	}
	r.errs = append(r.errs, &flagError{Flag: flag, Value: value, Rule: fmt.Sprintf(rule, args...)})
}

func (r *resolver) err() error { return errors.Join(r.errs...) }

// resolve turns credFlags and the environment into a credConfig, checking
// everything that can be checked without a network call. Every problem is
// reported at once, each naming its flag or variable.
func (f *credFlags) resolve(fs *pflag.FlagSet, getenv func(string) string) (*credConfig, error) {
	r := newResolver(fs, getenv)
	c := &credConfig{
		roleARN:  r.value("role-arn", f.roleARN, envRoleARN),
		region:   r.value("region", f.region, envRegion, envDefaultRegion),
		device:   f.device,
		prompt:   f.allowPrompt,
		noCache:  f.noCache,
		timeout:  f.timeout,
		cacheDir: r.value("cache-dir", f.cacheDir),
		origin:   r.origin,
	}
	c.cacheDirGiven = fs.Changed("cache-dir")
	c.opts.RoleSessionName = r.value("role-session-name", f.sessionName, envRoleSessionName)
	c.opts.ProviderID = r.value("provider-id", f.providerID)
	c.opts.PolicyARNs = f.policyARNs
	if c.roleARN == "" {
		r.fail("role-arn", "", "is required (or set %s)", envRoleARN)
	}
	if d := r.value("duration", f.duration); d != "" {
		dur, err := parseDuration(d)
		if err != nil {
			r.fail("duration", d, "%v", err)
		}
		c.opts.Duration = dur
	}
	if p := f.policy; p != "" {
		c.opts.Policy = p
		if path, ok := strings.CutPrefix(p, "file://"); ok {
			b, err := readSmallFile(path, maxPolicyFileSize)
			switch {
			case err != nil:
				r.fail("policy", p, "%v", err)
			case len(strings.TrimSpace(string(b))) == 0:
				r.fail("policy", p, "the file is empty")
			}
			c.opts.Policy = string(b)
		}
	}
	c.endpoint = r.endpoint(f.endpointURL)
	c.fips, c.dualStack = r.boolEnv(envUseFIPS), r.boolEnv(envUseDualStack)
	if c.endpoint != "" {
		if u, err := url.Parse(c.endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			r.fail("endpoint-url", c.endpoint, "must be an absolute http or https URL")
		}
	}
	if f.timeout < 0 {
		r.fail("timeout", f.timeout.String(), "must not be negative")
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
		if c.prompt {
			c.timeout = defaultPromptTimeout
		}
	}
	f.resolveSource(r, c)
	c.resolveCacheDir(r)
	if c.roleARN != "" {
		// The provider's own checks (ARN shape, session name, duration,
		// policies), now, so that every problem is reported at once.
		if _, err := provider.New(noClient, c.roleARN, tokensource.Static("unused"), func(o *provider.Options) { *o = c.opts }); err != nil {
			r.errs = append(r.errs, flagErrors(err, r.origin))
		}
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	if c.region == "" {
		c.region = partition.Region(c.roleARN)
	}
	return c, nil
}

// noClient stands in for the STS client when the provider's options are
// only checked.
var noClient = provider.STSClientFunc(func(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return nil, errors.New("awsoidc: no STS client")
})

// resolveSource picks the one token source: --token-source, --token-file,
// --token-env, --token-exec or --issuer with --client-id; with none of
// them, AWS_WEB_IDENTITY_TOKEN_FILE.
func (f *credFlags) resolveSource(r *resolver, c *credConfig) {
	if !f.resolveSourceName(r) {
		return
	}
	switch {
	case r.fs.Changed("token-source") && isFetched(f.tokenSource):
		f.resolveFetched(r, c)
	case r.fs.Changed("token-env"):
		c.kind = sourceEnv
		c.tokenEnv = strings.TrimSpace(f.tokenEnv)
		if c.tokenEnv == "" {
			r.fail("token-env", "", "must name an environment variable")
			return
		}
		c.tokenValue = strings.TrimSpace(r.getenv(c.tokenEnv))
		if c.tokenValue == "" {
			r.fail("token-env", c.tokenEnv, "the environment variable %s is unset or empty", c.tokenEnv)
		}
		// The token's identity, not the variable's name, keys the stored
		// credentials: the next job's token in the same variable may be
		// another identity, one the role's trust policy refuses.
		c.opts.SourceID = tokenid.Of(c.tokenValue)
	case r.fs.Changed("token-source") && f.tokenSource == srcEnv:
		r.fail("token-source", f.tokenSource, "needs --token-env NAME, the variable that holds the token")
	case r.fs.Changed("token-exec"):
		f.resolveFetched(r, c)
	case r.fs.Changed("issuer") || r.fs.Changed("client-id"):
		c.kind = sourceDevice
		c.device.issuer = strings.TrimSpace(f.device.issuer)
		c.device.clientID = strings.TrimSpace(f.device.clientID)
		checkDevice(r, &c.device)
		c.opts.SourceID = deviceSourceID(c.device)
	default:
		path := r.value("token-file", f.tokenFile, envTokenFile)
		if path == "" {
			r.errs = append(r.errs, fmt.Errorf("no token source: give --token-file PATH (or set %s), --token-env NAME, --token-exec COMMAND, --issuer URL with --client-id ID, or --token-source %s", envTokenFile, strings.Join(fetchedNames, "|")))
			return
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			r.fail("token-file", path, "%v", err)
			return
		}
		c.kind = sourceFile
		c.tokenPath = abs
		// A placeholder: the session keys stored credentials by the
		// identity of the token the file holds (see tokenid.Of).
		c.opts.SourceID = "file " + abs
	}
	if c.prompt && c.kind != sourceDevice {
		r.fail("allow-prompt", "", "only applies to a device-flow login (--issuer and --client-id)")
	}
	c.opts.SourceID += endpointScope(c.endpoint)
}

// endpointScope is the part of a source ID that names a non-default STS
// endpoint: credentials from another STS (a test server, MinIO) must not be
// served for the same role from the real one.
func endpointScope(endpoint string) string {
	if endpoint == "" {
		return ""
	}
	return " @" + endpoint
}

// checkDevice checks the device-flow flags without a network call.
func checkDevice(r *resolver, d *deviceFlags) {
	r.origin["issuer"], r.origin["client-id"] = "--issuer", "--client-id"
	switch {
	case d.issuer == "":
		r.fail("issuer", "", "is required with --client-id")
	default:
		u, err := url.Parse(d.issuer)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			r.fail("issuer", d.issuer, "must be an https URL (http only on a loopback host)")
		}
	}
	if d.clientID == "" {
		r.fail("client-id", "", "is required with --issuer")
	}
}

// deviceSourceID identifies a device-flow login in the credentials' cache
// key: its token store key, which holds the scopes and whether the access
// token goes to STS.
func deviceSourceID(d deviceFlags) string {
	return "deviceflow:" + deviceflow.StoreKey(d.issuer, d.clientID, d.options)
}

// options sets the deviceflow options that the flags of d decide.
func (d deviceFlags) options(o *deviceflow.Options) {
	o.Scopes = d.scopes
	o.UseAccessToken = d.useAccessToken
}

// loginCommand returns the "awsoidc login" command line that stores the
// login d needs, in cacheDir when not empty.
func (d deviceFlags) loginCommand(cacheDir string) string {
	cmd := fmt.Sprintf("awsoidc login --issuer %s --client-id %s", d.issuer, d.clientID)
	if len(d.scopes) > 0 {
		cmd += " --scope " + strings.Join(d.scopes, ",")
	}
	if d.useAccessToken {
		cmd += " --use-access-token"
	}
	if cacheDir != "" {
		cmd += " --cache-dir " + cacheDir
	}
	return cmd
}

// endpoint returns the STS endpoint: --endpoint-url, else
// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true (as the SDKs do).
func (r *resolver) endpoint(flagValue string) string {
	if !r.fs.Changed("endpoint-url") && strings.EqualFold(strings.TrimSpace(r.getenv(envIgnoreEndpoints)), "true") {
		r.origin["endpoint-url"] = "--endpoint-url"
		return ""
	}
	return r.value("endpoint-url", flagValue, envEndpointSTS, envEndpoint)
}

// resolveCacheDir fills in the default cache directory: the user cache
// directory (as os.UserCacheDir finds it, from the run's environment) +
// /awsoidc.
func (c *credConfig) resolveCacheDir(r *resolver) {
	c.cacheDir = resolveCacheDir(r, c.cacheDir)
}

func resolveCacheDir(r *resolver, dir string) string {
	if dir == "" {
		base, err := userCacheDir(r.getenv)
		if err != nil {
			r.fail("cache-dir", "", "no default: %v; give --cache-dir", err)
			return ""
		}
		return filepath.Join(base, "awsoidc")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		r.fail("cache-dir", dir, "%v", err)
		return ""
	}
	return abs
}

// credentialsDir and tokensDir are the two stores under the cache
// directory. The token store's place matches deviceflow's default,
// os.UserCacheDir()/awsoidc/tokens.
func credentialsDir(cacheDir string) string { return filepath.Join(cacheDir, "credentials") }
func tokensDir(cacheDir string) string      { return filepath.Join(cacheDir, "tokens") }

// userCacheDir is os.UserCacheDir reading the run's environment.
func userCacheDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return d, nil
		}
		return "", errors.New("%LocalAppData% is not defined")
	case "darwin", "ios":
		if d := getenv("HOME"); d != "" {
			return filepath.Join(d, "Library", "Caches"), nil
		}
		return "", errors.New("$HOME is not defined")
	case "plan9":
		if d := getenv("home"); d != "" {
			return filepath.Join(d, "lib", "cache"), nil
		}
		return "", errors.New("$home is not defined")
	default:
		if d := getenv("XDG_CACHE_HOME"); d != "" {
			if !filepath.IsAbs(d) {
				return "", errors.New("path in $XDG_CACHE_HOME is relative")
			}
			return d, nil
		}
		if d := getenv("HOME"); d != "" {
			return filepath.Join(d, ".cache"), nil
		}
		return "", errors.New("neither $XDG_CACHE_HOME nor $HOME are defined")
	}
}

// parseDuration accepts a Go duration ("1h30m") or a number of seconds
// ("5400"), as AWS tools write durations.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(12*time.Hour/time.Second) {
			return 0, fmt.Errorf("must be between %s and %s", 15*time.Minute, 12*time.Hour)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("must be a duration such as 1h or a number of seconds such as 3600")
	}
	return d, nil
}

// readSmallFile reads a file of at most max bytes. It reads to the end
// rather than trusting the size stat reports, which is 0 for a pipe
// (file:///dev/stdin, a shell's process substitution) and for files under
// /proc: a policy read as empty would silently be no policy at all.
func readSmallFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the file the user named in --policy file://PATH
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("file is larger than %d bytes", max)
	}
	return b, nil
}

// providerFlags maps the fields of provider.ValidationError to flags.
var providerFlags = []struct{ field, flag string }{
	{"roleARN", "role-arn"},
	{"Options.RoleSessionName", "role-session-name"},
	{"Options.Duration", "duration"},
	{"Options.Policy+Options.PolicyARNs", "policy"},
	{"Options.PolicyARNs", "policy-arn"},
	{"Options.Policy", "policy"},
	{"Options.ProviderID", "provider-id"},
}

// flagErrors rewrites the ValidationErrors of provider.New as flagErrors,
// naming the flags (or variables) the values came from.
func flagErrors(err error, origin map[string]string) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var ve *provider.ValidationError
		if !errors.As(e, &ve) {
			out = append(out, e)
			continue
		}
		flag := ""
		for _, m := range providerFlags {
			if strings.HasPrefix(ve.Field, m.field) {
				flag = origin[m.flag]
				if flag == "" {
					flag = "--" + m.flag
				}
				if m.field == "Options.Policy+Options.PolicyARNs" {
					flag = "--policy and --policy-arn"
				}
				break
			}
		}
		if flag == "" {
			out = append(out, e)
			continue
		}
		out = append(out, &flagError{Flag: flag, Value: ve.Value, Rule: ve.Rule})
	}
	return errors.Join(out...)
}
