package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

// oneShot resolves the flags, builds the session and retrieves credentials,
// within --timeout: the common part of credential-process and env.
func (a *app) oneShot(cmd *cobra.Command, f *credFlags) (aws.Credentials, *session, error) {
	cfg, err := f.resolve(cmd.Flags(), a.getenv)
	if err != nil {
		return aws.Credentials{}, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), cfg.timeout)
	defer cancel()
	s, err := a.newSession(ctx, cfg)
	if err != nil {
		return aws.Credentials{}, nil, err
	}
	defer s.close()
	creds, err := a.retrieve(ctx, s)
	return creds, s, err
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
