package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// The values of --token-source.
const (
	srcGitHubActions = "github-actions"
	srcGCP           = "gcp"
	srcAzure         = "azure"
	srcSPIFFE        = "spiffe"
	srcExec          = "exec"
	srcFile          = "file"
	srcEnv           = "env"
	srcAuto          = "auto"
)

var (
	// tokenSourceNames are the values of --token-source, in the order of
	// its help.
	tokenSourceNames = []string{srcGitHubActions, srcGCP, srcAzure, srcSPIFFE, srcExec, srcFile, srcEnv, srcAuto}
	// fetchedNames are the sources that fetch a fresh token at every refresh.
	fetchedNames = []string{srcGitHubActions, srcGCP, srcAzure, srcSPIFFE, srcExec, srcAuto}
	// audienceNames are the sources that ask for a token for --audience.
	audienceNames = []string{srcGitHubActions, srcGCP, srcAzure, srcSPIFFE, srcAuto}
)

// envSPIFFESocket is the Workload API address that SPIFFE workloads are
// given; when it is set, --token-source auto picks spiffe.
const envSPIFFESocket = "SPIFFE_ENDPOINT_SOCKET"

// defaultAudience is the audience of --token-source spiffe without
// --audience, the one STS expects by default (the other sources default to
// it, or to their own, by themselves).
const defaultAudience = "sts.amazonaws.com"

func isFetched(name string) bool { return slices.Contains(fetchedNames, name) }

// sourceFlag is a flag that names a token source by itself, and the
// --token-source value it goes with ("" for none).
var sourceFlags = []struct{ flag, source string }{
	{"token-file", srcFile},
	{"token-env", srcEnv},
	{"token-exec", srcExec},
	{"issuer", ""},
	{"client-id", ""},
}

// resolveSourceName checks --token-source and --audience against the other
// flags that name a source, and reports whether the source can be resolved
// further.
func (f *credFlags) resolveSourceName(r *resolver) bool {
	ok := true
	name := strings.TrimSpace(f.tokenSource)
	named := r.fs.Changed("token-source")
	if named && !slices.Contains(tokenSourceNames, name) {
		r.fail("token-source", name, "must be one of %s", strings.Join(tokenSourceNames, ", "))
		return false
	}
	var given []string
	for _, sf := range sourceFlags {
		if !r.fs.Changed(sf.flag) || (sf.flag == "client-id" && r.fs.Changed("issuer")) {
			continue
		}
		if named && sf.source != name {
			r.fail("token-source", name, "cannot be used with --%s, which names another source; give one of them", sf.flag)
			ok = false
		}
		given = append(given, "--"+sf.flag)
	}
	if !named && len(given) > 1 {
		r.errs = append(r.errs, fmt.Errorf("invalid token source: %s cannot be used together; choose one of --token-file, --token-env, --token-exec, or --issuer with --client-id", strings.Join(given, " and ")))
		ok = false
	}
	if r.fs.Changed("audience") {
		aud := strings.TrimSpace(f.audience)
		switch {
		case !named || !slices.Contains(audienceNames, name):
			r.fail("audience", aud, "only applies to --token-source %s: a file, a variable, a command or a login gives its token as it is", strings.Join(audienceNames, ", "))
			ok = false
		case aud == "":
			r.fail("audience", "", "must not be empty (the default is %s)", defaultAudience)
			ok = false
		case strings.IndexFunc(aud, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
			r.fail("audience", aud, "must not contain whitespace or control characters")
			ok = false
		}
	}
	return ok
}

// resolveFetched fills in a source that fetches a fresh token at every
// refresh: a --token-source among fetchedNames, or --token-exec alone.
func (f *credFlags) resolveFetched(r *resolver, c *credConfig) {
	c.kind = sourceFetch
	c.fetch = cmp.Or(strings.TrimSpace(f.tokenSource), srcExec)
	c.audience = strings.TrimSpace(f.audience)
	if c.fetch == srcExec {
		if !r.fs.Changed("token-exec") {
			r.fail("token-source", c.fetch, "needs --token-exec COMMAND, the command that prints the token")
			return
		}
		argv, err := splitCommand(f.tokenExec)
		if err != nil {
			// Not the value: a command line may hold a secret (a Vault
			// token, a password).
			r.fail("token-exec", "", "%v", err)
			return
		}
		if err := checkProgram(argv[0]); err != nil {
			r.fail("token-exec", "", "%v", err)
			return
		}
		c.execArgv = argv
	}
	// A placeholder: the session keys stored credentials by the identity of
	// the first token the source gives (see tokenid.Of).
	c.opts.SourceID = "fetch " + c.fetch
}

// fetchedSource builds the source of a sourceFetch configuration, and
// describes it: for auto, the source picked and why.
func (a *app) fetchedSource(ctx context.Context, cfg *credConfig) (tokensource.Source, string, error) {
	switch cfg.fetch {
	case srcGitHubActions:
		return tokensource.GitHubActions(cfg.audience), srcGitHubActions, nil
	case srcGCP:
		return tokensource.GCP(cfg.audience), srcGCP, nil
	case srcAzure:
		return tokensource.Azure(cfg.audience), srcAzure, nil
	case srcSPIFFE:
		return spiffe.JWTSource(cmp.Or(cfg.audience, defaultAudience)), srcSPIFFE, nil
	case srcExec:
		return tokensource.Exec(cfg.execArgv), srcExec + " (" + cfg.execArgv[0] + ")", nil
	}
	// auto
	if a.getenv(envSPIFFESocket) != "" {
		return spiffe.JWTSource(cmp.Or(cfg.audience, defaultAudience)), "auto: " + srcSPIFFE + " (" + envSPIFFESocket + " is set)", nil
	}
	// With --verbose, Detect says which source it picked and why each one
	// before it was passed over.
	spiffeWhy := envSPIFFESocket + " is not set"
	a.debugLog().Debug("tokensource: token source not detected", "source", srcSPIFFE, "reason", spiffeWhy)
	src, picked, err := tokensource.Detect(ctx, cfg.audience, func(o *tokensource.DetectOptions) { o.Logger = a.debugLog() })
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("--token-source auto: %w", err)
		}
		return nil, "", fmt.Errorf("--token-source auto: %s: %s; %w; name the source with --token-source %s",
			srcSPIFFE, spiffeWhy, err, strings.Join(fetchedNames[:len(fetchedNames)-1], "|"))
	}
	return src, "auto: " + picked, nil
}

// remembered is a source whose tokens the command's scrubber learns, so
// that no message, whoever quotes a token, prints one.
type remembered struct {
	src     tokensource.Source
	secrets *scrubber
}

func (s remembered) Token(ctx context.Context) (tokensource.Token, error) {
	tok, err := s.src.Token(ctx)
	if err == nil {
		s.secrets.add(tok.Value)
	}
	return tok, err
}

// String describes the wrapped source, for the errors of tokenid.Pin.
func (s remembered) String() string { return fmt.Sprint(s.src) }

// tokenOrigin names where the token comes from, for messages: the flag or
// variable of a file, or the --token-source of a fetched source.
func (c *credConfig) tokenOrigin() string {
	if c.kind == sourceFetch {
		return "--token-source " + c.fetch
	}
	return c.origin["token-file"]
}

// fetchHint is doctor's advice when a fetched source gives no token.
func fetchHint(name string) string {
	switch name {
	case srcGitHubActions:
		return `the job needs "permissions: id-token: write", which sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN`
	case srcGCP:
		return "run on Google Cloud with a service account attached (the metadata server, or GCE_METADATA_HOST, must answer)"
	case srcAzure:
		return "enable a managed identity on the VM, App Service or Function (IMDS, or IDENTITY_ENDPOINT and IDENTITY_HEADER)"
	case srcSPIFFE:
		return envSPIFFESocket + " must name the SPIRE agent's socket, and a registration entry must match this workload"
	case srcExec:
		return "run the --token-exec command by hand: it must exit 0 and print the token on stdout"
	default:
		return "name the source with --token-source " + strings.Join(fetchedNames[:len(fetchedNames)-1], "|")
	}
}
