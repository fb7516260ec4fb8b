package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/awsoidc/awsoidc/provider"
)

// oneShot resolves the flags, builds the session and retrieves credentials,
// within --timeout: the common part of credential-process and env. The
// command's own context ends only with SIGINT or SIGTERM.
func (a *app) oneShot(cmd *cobra.Command, f *credFlags) (aws.Credentials, *session, error) {
	cfg, err := f.resolve(cmd.Flags(), a.getenv)
	if err != nil {
		return aws.Credentials{}, nil, err
	}
	// A fetched source's token keys the stored credentials: while those of
	// the identity it last produced are valid, the token gets staleBudget
	// only, and they are printed when it does not come (lastidentity.go).
	fb := a.loadFallback(cmd.Context(), cfg)
	tokenBudget := cfg.timeout
	if fb.valid(a) {
		tokenBudget = min(tokenBudget, staleBudget)
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(cmd.Context(), tokenBudget)
	defer cancel()
	s, err := a.newSession(sctx, cfg)
	var nte *noTokenError
	switch {
	case err == nil:
	case errors.As(err, &nte) && cmd.Context().Err() == nil && fb.valid(a):
		a.warn("%s; using stored credentials valid until %s", a.secrets.scrub(err.Error()), fb.creds.Expires.Local().Format(time.TimeOnly))
		return fb.creds, &session{cfg: cfg, close: func() {}}, nil
	default:
		return aws.Credentials{}, nil, err
	}
	defer s.close()
	a.recordIdentity(fb, s.sourceID)
	creds, err := a.retrieve(cmd.Context(), s, time.Since(start))
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

// staleBudget is how long a one-shot command tries to get new credentials
// while stored ones that have not expired are at hand: past it, whatever
// STS or another process holding the store's lock does, it prints those.
// Every client's own process timeout (aws-sdk-go-v2's processcreds: one
// minute) is far longer.
const staleBudget = 3 * time.Second

// lockGrace is how much longer than its own --timeout a process without
// valid credentials waits for the store's lock: the holder, started at the
// same moment, then has the time to record its failure.
const lockGrace = 2 * time.Second

// attempted reports whether err comes after at least one request to STS.
func attempted(err error) bool {
	var re *provider.RetrieveError
	return errors.As(err, &re) && re.Attempts > 0
}

// retrieve returns credentials for a one-shot command: from the store when
// they are reusable, else from STS under the store's lock, so that many
// processes started at once make one STS call (the first to take the lock
// calls STS and saves; the others then load what it saved).
//
// It keeps the cache's promises across processes:
//   - while stored credentials that have not expired are at hand, it answers
//     within staleBudget: it prints them, with a warning, when no new ones
//     come by then (STS failing or hanging, another process holding the
//     lock);
//   - a transient failure is recorded beside the credentials with the time
//     of the next attempt (see outage.go); until then no process asks STS:
//     those with valid stored credentials print them at once, the others fail
//     at once with the recorded error;
//   - every wait ends within --timeout, itself well inside the callers' own
//     limits.
//
// spent is how long the command has already worked (reading a fetched
// source's token): it counts against staleBudget.
//
// The store failing never stops the command: it then asks STS directly.
func (a *app) retrieve(ctx context.Context, s *session, spent time.Duration) (aws.Credentials, error) {
	if s.store == nil {
		return a.fetch(ctx, s, s.cfg.timeout)
	}
	pol := policyFor(s.cfg.opts.Duration)
	recPath := outagePath(s.store.Path(s.key))
	var stale aws.Credentials // stored credentials not reusable but still valid
	load := func(when string) (aws.Credentials, bool) {
		creds, ok, err := s.store.Load(ctx, s.key)
		switch {
		case err != nil:
			a.warn("ignoring the credentials store: %v", err)
			return aws.Credentials{}, false
		case !ok:
			a.log.Debug("no stored credentials", "when", when)
			return aws.Credentials{}, false
		}
		a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
		now := a.now()
		if pol.reusable(creds, now) {
			a.log.Debug("using stored credentials", "when", when, "expires", creds.Expires)
			return creds, true
		}
		if creds.Expires.After(now) {
			stale = creds
		}
		a.log.Debug("stored credentials expire too soon to reuse", "when", when, "expires", creds.Expires, "refresh_before", pol.refreshBefore)
		return aws.Credentials{}, false
	}
	// valid reports whether the stale credentials can still be printed.
	valid := func() bool { return stale.HasKeys() && stale.Expires.After(a.now()) }
	// blocked reports whether rec forbids an attempt now. A process without
	// valid credentials does not heed a timeout that cut an attempt short
	// (a 3-second budget, a lock had late): STS may answer within its own
	// --timeout.
	blocked := func(rec outageRecord) bool { return !rec.due(a.now()) && (valid() || !rec.Partial) }
	// waitOutage answers while a recorded outage's next attempt is not due.
	waitOutage := func(rec outageRecord) (aws.Credentials, error) {
		if valid() {
			a.warn("STS failed %s ago (%s); the next attempt is due at %s; using stored credentials valid until %s",
				roundDuration(a.now().Sub(rec.FailedAt)), rec.Error, rec.NextAttempt.Local().Format(time.TimeOnly), stale.Expires.Local().Format(time.TimeOnly))
			return stale, nil
		}
		return aws.Credentials{}, &outageError{rec: rec, now: a.now()}
	}

	if creds, ok := load("before lock"); ok {
		return creds, nil
	}
	if rec := loadOutage(recPath, a.now()); blocked(rec) {
		return waitOutage(rec)
	}
	// Without valid credentials, wait for the lock a little longer than the
	// holder's own budget, so that its record of a failure is read rather
	// than a lock timeout reported.
	budget, wait := s.cfg.timeout, s.cfg.timeout+lockGrace
	if valid() {
		left := staleBudget - spent
		if left <= 0 {
			a.warn("getting the web identity token took %s; using stored credentials valid until %s",
				roundDuration(spent), stale.Expires.Local().Format(time.TimeOnly))
			return stale, nil
		}
		budget = min(budget, left)
		wait = budget
	}
	bctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	unlock, err := s.store.Lock(bctx, s.key)
	switch {
	case err == nil:
		defer func() {
			if err := unlock(); err != nil {
				a.warn("unlocking the credentials store: %v", err)
			}
		}()
	case ctx.Err() != nil:
		return aws.Credentials{}, err // interrupted: SIGINT, SIGTERM
	case bctx.Err() != nil:
		// The holder may be waiting on a person (--allow-prompt), on an
		// STS that does not answer, or be stopped.
		if rec := loadOutage(recPath, a.now()); blocked(rec) {
			return waitOutage(rec)
		}
		if valid() {
			a.warn("another awsoidc process has been getting credentials for more than %s; using stored credentials valid until %s",
				budget, stale.Expires.Local().Format(time.TimeOnly))
			return stale, nil
		}
		return aws.Credentials{}, fmt.Errorf("another awsoidc process held the credentials store's lock for more than %s while getting the same credentials: it may be waiting for STS, for a login, or be stopped: %w", wait, err)
	default:
		a.warn("cannot lock the credentials store (%v); asking STS without it", err)
	}

	// Another process may have refreshed, or failed, while we waited.
	if creds, ok := load("after lock"); ok {
		return creds, nil
	}
	prev := loadOutage(recPath, a.now())
	if blocked(prev) {
		return waitOutage(prev)
	}
	fetchStart := a.now()
	creds, err := a.fetch(bctx, s, budget)
	if err != nil {
		if ctx.Err() != nil {
			return aws.Credentials{}, err
		}
		timedOut := attempted(err) && errors.Is(err, context.DeadlineExceeded)
		if provider.IsRetryable(err) || timedOut {
			rec := nextOutage(prev, a.now(), a.secrets.scrub(err.Error()), stale, rand.Float64()) //nolint:gosec // G404: backoff jitter, not a secret
			rec.Partial = timedOut && a.now().Sub(fetchStart) < s.cfg.timeout
			if serr := saveOutage(recPath, rec); serr != nil {
				a.warn("cannot record the failure in the credentials store: %v", serr)
			}
		}
		if valid() {
			a.warn("%s; using stored credentials valid until %s", a.secrets.scrub(err.Error()), stale.Expires.Local().Format(time.TimeOnly))
			return stale, nil
		}
		return aws.Credentials{}, err
	}
	if err := s.store.Save(ctx, s.key, creds); err != nil {
		a.warn("cannot save credentials to the store: %v", err)
	}
	if prev.Failures > 0 {
		if err := clearOutage(recPath); err != nil {
			a.warn("cannot clear the failure recorded in the credentials store: %v", err)
		}
	}
	return creds, nil
}

// fetch asks STS for credentials within budget (the deadline of ctx).
func (a *app) fetch(ctx context.Context, s *session, budget time.Duration) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	a.log.Debug("calling STS AssumeRoleWithWebIdentity", "role_arn", s.cfg.roleARN)
	creds, err := s.prov.Retrieve(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return aws.Credentials{}, &timeoutError{budget: budget, waitedFor: a.waitedFor(s, err), err: err}
		}
		return aws.Credentials{}, err
	}
	a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
	return creds, nil
}

// waitedFor names what a fetch that ran out of time was waiting for.
func (a *app) waitedFor(s *session, err error) string {
	if re := (*provider.RetrieveError)(nil); errors.As(err, &re) && re.Attempts > 0 {
		return fmt.Sprintf("STS did not answer (%d %s sent)", re.Attempts, map[bool]string{true: "request", false: "requests"}[re.Attempts == 1])
	}
	switch {
	case s.cfg.kind == sourceDevice && s.cfg.prompt:
		return "the device-flow login was not approved (or the identity provider did not answer)"
	case s.cfg.kind == sourceDevice:
		return "the identity provider did not answer"
	default:
		return "the web identity token could not be read"
	}
}

// timeoutError is a fetch that ran out of --timeout: it says what it was
// waiting for, in one line; the provider's error stays reachable with
// errors.As.
type timeoutError struct {
	budget    time.Duration
	waitedFor string
	err       error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no credentials within %s (--timeout): %s", e.budget, e.waitedFor)
}

func (e *timeoutError) Unwrap() error { return e.err }
