package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// session is what a credential command works with: the provider built from
// the flags, and the store of credentials shared with the other commands
// and processes.
type session struct {
	cfg   *credConfig
	prov  *provider.Provider
	store cache.Store // nil with --no-cache
	key   string      // the provider's CacheKey
	close func()      // releases what the session opened (a terminal)
}

// newSession builds the provider and the stores from cfg. It makes no
// network call; a bad value becomes a flagError naming its flag.
func (a *app) newSession(cfg *credConfig) (*session, error) {
	s := &session{cfg: cfg, close: func() {}}
	src, err := a.tokenSource(cfg, s)
	if err != nil {
		s.close()
		return nil, err
	}
	client := provider.NewSTSClient(aws.Config{Region: cfg.region}, func(o *sts.Options) {
		o.Region = cfg.region
		if cfg.endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.endpoint)
		}
	})
	opts := cfg.opts
	p, err := provider.New(client, cfg.roleARN, src, func(o *provider.Options) {
		*o = opts
		o.Logger = a.log
	})
	if err != nil {
		s.close()
		return nil, flagErrors(err, cfg.origin)
	}
	s.prov = p
	s.key = p.CacheKey()
	if !cfg.noCache {
		st, err := cache.FileStore(credentialsDir(cfg.cacheDir))
		if err != nil {
			s.close()
			return nil, fmt.Errorf("credentials store in --cache-dir %s (fix it, choose another --cache-dir, or use --no-cache): %w", cfg.cacheDir, err)
		}
		s.store = st
	}
	return s, nil
}

// tokenSource builds the token source cfg names.
func (a *app) tokenSource(cfg *credConfig, s *session) (tokensource.Source, error) {
	switch cfg.kind {
	case sourceEnv:
		a.secrets.add(cfg.tokenValue)
		return tokensource.Static(cfg.tokenValue), nil
	case sourceDevice:
		var prompt io.Writer = a.stderr
		if cfg.prompt {
			if tty := openTTY(); tty != nil {
				prompt = tty
				s.close = func() { _ = tty.Close() }
			}
		}
		hintDir := ""
		if cfg.cacheDirGiven {
			hintDir = cfg.cacheDir
		}
		return a.deviceSource(cfg.device, cfg.cacheDir, hintDir, cfg.prompt, prompt)
	default:
		return tokensource.File(cfg.tokenPath), nil
	}
}

// deviceSource returns the device-flow source of d, with its tokens stored
// under cacheDir. interactive lets Token start a login, prompting on w.
// hintDir is the --cache-dir to name in the hint of a login required, ""
// when the command was not given one (the default then applies to login
// too).
func (a *app) deviceSource(d deviceFlags, cacheDir, hintDir string, interactive bool, w io.Writer) (*deviceflow.Source, error) {
	store, err := deviceflow.NewFileStore(tokensDir(cacheDir), func(o *deviceflow.FileStoreOptions) { o.Logger = a.log })
	if err != nil {
		return nil, fmt.Errorf("token store in --cache-dir %s: %w", cacheDir, err)
	}
	hint := fmt.Sprintf(`run "awsoidc login --issuer %s --client-id %s"`, d.issuer, d.clientID)
	if hintDir != "" {
		hint = fmt.Sprintf(`run "awsoidc login --issuer %s --client-id %s --cache-dir %s"`, d.issuer, d.clientID, hintDir)
	}
	src, err := deviceflow.New(d.issuer, d.clientID, func(o *deviceflow.Options) {
		o.Scopes = d.scopes
		o.UseAccessToken = d.useAccessToken
		o.OpenBrowser = d.openBrowser
		o.Interactive = interactive
		o.Store = store
		o.Prompt = &deviceflow.TextPrompter{Writer: w}
		o.LoginHint = hint
		o.Logger = a.log
	})
	if err != nil {
		var ce *deviceflow.ConfigError
		if errors.As(err, &ce) {
			flag := map[string]string{"issuer": "--issuer", "clientID": "--client-id", "Scopes": "--scope"}[ce.Field]
			if flag != "" {
				return nil, &flagError{Flag: flag, Value: ce.Value, Rule: ce.Rule}
			}
		}
		return nil, err
	}
	return src, nil
}

// openTTY opens the controlling terminal for writing, or returns nil. The
// AWS CLI captures the stderr of a credential_process, so a login prompt
// goes to the terminal itself when there is one.
func openTTY() *os.File {
	name := "/dev/tty"
	if runtime.GOOS == "windows" {
		name = "CONOUT$"
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return f
}

// The one-shot commands (credential-process, env) decide for themselves when
// stored credentials are reused, since they exit right after printing and a
// background refresh would never finish. The rule is a pure function of the
// credentials' lifetime L (the requested --duration, or STS's default of one
// hour) and of now:
//
//   - Expiration printed = E - margin, margin = min(5m, L/10): a client with
//     no refresh window of its own (aws-sdk-go-v2's processcreds) asks again
//     5 minutes before the real expiry E, never signs with credentials about
//     to expire, and tolerates clock skew;
//   - stored credentials are reused while more than refreshBefore =
//     min(margin + 15m + 1m, L/2) remains: botocore (the AWS CLI) asks again
//     15 minutes before the Expiration it was given, i.e. 20 minutes before E,
//     and must then get new credentials, or it would ask again on every API
//     call until they come;
//   - when STS fails or does not answer within --timeout and the stored
//     credentials have not expired, they are printed anyway with a warning
//     (static stability), with Expiration
//     E - margin, or E once that has passed.
const (
	expiryMarginCap  = 5 * time.Minute
	clientRefreshCap = 15 * time.Minute // botocore's advisory refresh window
	refreshSlack     = time.Minute
	defaultLifetime  = time.Hour // STS's default DurationSeconds
)

// refreshPolicy is the reuse rule of the one-shot commands for one
// lifetime.
type refreshPolicy struct {
	margin        time.Duration // Expiration = E - margin
	refreshBefore time.Duration // reuse stored credentials while more than this remains
}

// policyFor returns the rule for credentials requested for d (0: STS's
// default).
func policyFor(d time.Duration) refreshPolicy {
	if d <= 0 {
		d = defaultLifetime
	}
	margin := min(expiryMarginCap, d/10)
	return refreshPolicy{
		margin:        margin,
		refreshBefore: min(margin+clientRefreshCap+refreshSlack, d/2),
	}
}

// reusable reports whether stored creds may be printed at now without
// asking STS.
func (p refreshPolicy) reusable(creds aws.Credentials, now time.Time) bool {
	return creds.HasKeys() && creds.CanExpire && creds.Expires.Sub(now) > p.refreshBefore
}

// expiration is the Expiration to print for creds at now.
func (p refreshPolicy) expiration(creds aws.Credentials, now time.Time) time.Time {
	if at := creds.Expires.Add(-p.margin); at.After(now) {
		return at
	}
	return creds.Expires
}

// retrieve returns credentials for a one-shot command: from the store when
// they are reusable, else from STS under the store's lock, so that many
// processes started at once make one STS call (the first to take the lock
// calls STS and saves; the others then load what it saved). The store
// failing never stops the command: it then asks STS directly. When no new
// credentials come (STS fails, or --timeout passes while STS or another
// process holding the lock keeps it waiting), stored credentials that have
// not expired are returned with a warning.
func (a *app) retrieve(ctx context.Context, s *session) (aws.Credentials, error) {
	pol := policyFor(s.cfg.opts.Duration)
	var stale aws.Credentials // stored credentials not reusable but still valid
	load := func(what string) (aws.Credentials, bool) {
		creds, ok, err := s.store.Load(ctx, s.key)
		if err != nil {
			a.log.Warn("ignoring the credentials store", "err", err)
			return aws.Credentials{}, false
		}
		if !ok {
			a.log.Debug("no stored credentials", "when", what)
			return aws.Credentials{}, false
		}
		a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
		if pol.reusable(creds, a.now()) {
			a.log.Debug("using stored credentials", "when", what, "expires", creds.Expires)
			return creds, true
		}
		if creds.Expires.After(a.now()) {
			stale = creds
		}
		a.log.Debug("stored credentials expire too soon to reuse", "when", what, "expires", creds.Expires, "refresh_before", pol.refreshBefore)
		return aws.Credentials{}, false
	}
	// fallback returns the stale credentials when no new ones could be had
	// (static stability), unless the command was cancelled (SIGINT,
	// SIGTERM): running out of --timeout is not a reason to fail while
	// valid credentials are at hand.
	fallback := func(why string, err error) (aws.Credentials, bool) {
		if !stale.HasKeys() || !stale.Expires.After(a.now()) || errors.Is(ctx.Err(), context.Canceled) {
			return aws.Credentials{}, false
		}
		a.log.Warn(why+"; using stored credentials that have not expired yet", "expires", stale.Expires, "err", err)
		return stale, true
	}
	if s.store != nil {
		if creds, ok := load("before lock"); ok {
			return creds, nil
		}
		unlock, err := s.store.Lock(ctx, s.key)
		switch {
		case err == nil:
			defer func() {
				if err := unlock(); err != nil {
					a.log.Warn("unlocking the credentials store", "err", err)
				}
			}()
			if creds, ok := load("after lock"); ok {
				return creds, nil
			}
		case ctx.Err() != nil:
			// The holder may be a process waiting on a person
			// (--allow-prompt) or on an STS that does not answer.
			if creds, ok := fallback("another awsoidc process held the credentials store past --timeout", err); ok {
				return creds, nil
			}
			return aws.Credentials{}, fmt.Errorf("waiting for another awsoidc process to get credentials: %w", err)
		default:
			a.log.Warn("cannot lock the credentials store; asking STS without it", "err", err)
		}
	}
	a.log.Debug("calling STS AssumeRoleWithWebIdentity", "role_arn", s.cfg.roleARN)
	creds, err := s.prov.Retrieve(ctx)
	if err != nil {
		if creds, ok := fallback("STS failed", err); ok {
			return creds, nil
		}
		return aws.Credentials{}, err
	}
	a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
	if s.store != nil {
		if err := s.store.Save(ctx, s.key, creds); err != nil {
			a.log.Warn("cannot save credentials to the store", "err", err)
		}
	}
	return creds, nil
}
