package cache

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// This file holds the refresh policy as pure functions of now, like the
// SDK's cachedCredentials.refreshNeeded(now): no clock, no lock, no
// goroutine, so the rules are table-tested directly (policy_test.go).
//
// Every deadline is a wall-clock time without a monotonic reading: expiry is
// a wall-clock matter, and a laptop that slept through it must see it.

// farFuture stands for "never", for credentials that cannot expire.
var farFuture = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)

// policy is the normalized refresh rule set of one cache.
type policy struct {
	advisory  time.Duration // cap of the advisory window; 0: by lifetime (advisoryByLifetime)
	mandatory time.Duration // cap of the mandatory window
	jitter    float64       // in [0, 1]; 0 turns jitter off
}

// windows returns the advisory and mandatory windows for credentials that
// live for lifetime: the caps, shrunk to a quarter and a tenth of the
// lifetime, the mandatory one never wider than the advisory one.
func (p policy) windows(lifetime time.Duration) (advisory, mandatory time.Duration) {
	if lifetime < 0 {
		lifetime = 0
	}
	advisory = p.advisory
	if advisory == 0 {
		advisory = advisoryByLifetime(lifetime)
	}
	advisory = min(advisory, lifetime/4)
	mandatory = min(p.mandatory, lifetime/10, advisory)
	return advisory, mandatory
}

// advisoryByLifetime is the default cap of the advisory window for
// credentials that live for lifetime: the tiers botocore and the Java SDK
// adopted in 2026 (boto/botocore#3760, aws/aws-sdk-java-v2#7053), which
// cost no more STS calls than a fixed 15 minutes up to 90-minute sessions
// and give longer ones an hour to ride out an outage (docs/performance.md,
// section 6).
func advisoryByLifetime(lifetime time.Duration) time.Duration {
	switch {
	case lifetime <= 20*time.Minute:
		return 5 * time.Minute
	case lifetime < 90*time.Minute:
		return 15 * time.Minute
	default:
		return time.Hour
	}
}

// entry is one immutable snapshot of cached credentials with the moments
// that matter for them. Cache.Retrieve's fast path reads it through an
// atomic pointer.
type entry struct {
	// creds is what callers get while the entry is fresh: the provider's
	// credentials with Expires set to refreshAt, the moment the cache wants
	// to be asked again (see handout).
	creds aws.Credentials
	// expires is the real expiry E (farFuture when the credentials cannot
	// expire).
	expires time.Time
	// refreshAt is when the advisory window starts for this entry,
	// jittered: fresh before it.
	refreshAt time.Time
	// mandatoryAt is E minus the mandatory window: callers wait for a
	// refresh from then on.
	mandatoryAt time.Time
	// lifetime is the lifetime the windows were computed for.
	lifetime time.Duration
}

// plan makes the entry for creds obtained at now.
//
// lifetime is how long the credentials live: E − now for credentials just
// fetched from the provider, an estimate for credentials loaded from a
// store. u1 and u2 are uniform random numbers in [0, 1): u1 places the
// refresh in the jitter span of the advisory window, u2 (only when spread is
// true, for the first refresh after a start) pulls it earlier, to a
// uniformly random point of the whole time until then, to break up a fleet
// that fetched at the same moment. With jitter off (p.jitter == 0) both are
// ignored.
//
// Why the whole time: that time is distributed like one steady refresh
// cycle (lifetime − advisory window + the jitter span), so a fleet started
// at once gets its first refreshes spread evenly over one cycle, and every
// minute of every later cycle has its share of the fleet. Spreading over
// only part of it would leave a gap of the rest in every cycle, which the
// jitter of later cycles takes most of a day to fill. The price is that a
// few caches refresh within moments of their start: one early refresh per
// start.
func (p policy) plan(creds aws.Credentials, now time.Time, lifetime time.Duration, u1, u2 float64, spread bool) *entry {
	now = now.Round(0)
	if !creds.CanExpire {
		return &entry{creds: creds, expires: farFuture, refreshAt: farFuture, mandatoryAt: farFuture}
	}
	expires := creds.Expires.Round(0)
	adv, mand := p.windows(lifetime)
	refreshAt := expires.Add(-adv)
	if p.jitter > 0 {
		refreshAt = refreshAt.Add(time.Duration(u1 * p.jitter * float64(adv-mand)))
		if spread && refreshAt.After(now) {
			refreshAt = spreadFirst(now, refreshAt, u2)
		}
	}
	e := &entry{
		creds:       creds,
		expires:     expires,
		refreshAt:   refreshAt,
		mandatoryAt: expires.Add(-mand),
		lifetime:    lifetime,
	}
	e.creds.Expires = refreshAt
	return e
}

// spreadFirst returns the first refresh moment after a start: uniform over
// (now, refreshAt] for a uniform u in [0, 1), never now itself (float
// rounding of u close to 1 could land there).
func spreadFirst(now, refreshAt time.Time, u float64) time.Time {
	d := refreshAt.Sub(now)
	return refreshAt.Add(-min(time.Duration(u*float64(d)), d-1))
}

// phase is where an entry stands at a given moment.
type phase int

const (
	phaseNone      phase = iota // no credentials, or expired ones
	phaseFresh                  // before refreshAt: serve, nothing else
	phaseAdvisory               // serve at once, refresh in the background
	phaseMandatory              // wait for the refresh; stale if it fails
)

// phase returns where e stands at now; a nil e is phaseNone.
func (e *entry) phase(now time.Time) phase {
	switch {
	case e == nil || !now.Before(e.expires):
		return phaseNone
	case now.Before(e.refreshAt):
		return phaseFresh
	case now.Before(e.mandatoryAt):
		return phaseAdvisory
	default:
		return phaseMandatory
	}
}

// valid reports whether e holds credentials that have not expired at now.
func (e *entry) valid(now time.Time) bool { return e.phase(now) != phaseNone }

// action is what Retrieve does, decided by decide.
type action int

const (
	actServe        action = iota // return the cached credentials
	actServeRefresh               // return them and start a background refresh
	actWait                       // wait for the refresh, starting it if none is in flight
	actFail                       // return the remembered failure
)

// decide is the refresh policy: what Retrieve does at now with entry e,
// when the failure backoff allows the next provider call at nextAttempt
// (zero when there is no recent failure) and a refresh is or is not already
// in flight.
func decide(now time.Time, e *entry, nextAttempt time.Time, inflight bool) action {
	backingOff := now.Before(nextAttempt)
	switch e.phase(now) {
	case phaseFresh:
		return actServe
	case phaseAdvisory:
		if inflight || backingOff {
			return actServe
		}
		return actServeRefresh
	case phaseMandatory:
		if !inflight && backingOff {
			return actServe // static stability: stale but valid
		}
		return actWait
	default:
		if !inflight && backingOff {
			return actFail
		}
		return actWait
	}
}

// refreshingHold is how long the SDK's aws.CredentialsCache may keep the
// cached credentials, from the moment it is handed them, while a refresh is
// in flight in the advisory window: it then serves its callers from memory
// during the refresh, instead of passing every call to the Cache through
// its own singleflight, and picks up the new credentials at most
// refreshingHold after the refresh ends. The credentials stay valid well
// past it: the hold never reaches the mandatory window.
const refreshingHold = time.Second

// handout returns the credentials to give a caller at now. Their Expires is
// the moment the cache next wants to be asked, because the SDK's
// aws.CredentialsCache, which wraps every provider given to
// config.WithCredentialsProvider, calls us again only once that moment has
// passed:
//   - fresh: refreshAt, the start of the (jittered) advisory window;
//   - advisory window while backing off after a failure: the next attempt,
//     but no later than the mandatory window;
//   - mandatory window while backing off (stale credentials): the next
//     attempt, but no later than the real expiry;
//   - advisory window with a refresh in flight (refreshing): now +
//     refreshingHold, but no later than the mandatory window, so the
//     wrapper serves its callers from memory during the refresh and comes
//     back shortly after it; a failed refresh sets a next attempt, and the
//     rule above takes over;
//   - mandatory window with a refresh in flight, for a caller that stopped
//     waiting for it through its ctx (or joined a second refresh after the
//     first failed): now + refreshingHold, but no later than the real
//     expiry, so that credentials handed out are never already past their
//     Expires;
//   - otherwise (after Close): refreshAt, already past.
//
// So the wrapper never holds credentials past the moment they need
// attention, and never past their real expiry.
func (e *entry) handout(now, nextAttempt time.Time, refreshing bool) aws.Credentials {
	c := e.creds
	if !c.CanExpire {
		return c
	}
	switch ph := e.phase(now); {
	case nextAttempt.After(now) && ph == phaseAdvisory:
		c.Expires = earliest(nextAttempt, e.mandatoryAt)
	case nextAttempt.After(now) && ph == phaseMandatory:
		c.Expires = earliest(nextAttempt, e.expires)
	case refreshing && ph == phaseAdvisory:
		c.Expires = earliest(now.Round(0).Add(refreshingHold), e.mandatoryAt)
	case refreshing && ph == phaseMandatory:
		c.Expires = earliest(now.Round(0).Add(refreshingHold), e.expires)
	}
	return c
}

// maxLastChanceMargin caps how long before the real expiry the cache makes
// its last attempt while backing off from failures (see retryAt): long
// enough for an STS call and the provider's quick retries to end before
// the credentials expire, short enough that an STS back in the last minutes
// is not missed.
const maxLastChanceMargin = 10 * time.Second

// lastChance returns the moment of the last provider call that the failure
// backoff must not step over while e is valid: the real expiry less
// min(maxLastChanceMargin, a tenth of the mandatory window), so that the
// margin shrinks with short-lived credentials. Credentials that cannot
// expire have no last chance (farFuture).
func (e *entry) lastChance() time.Time {
	if e.expires.Equal(farFuture) {
		return farFuture
	}
	return e.expires.Add(-min(maxLastChanceMargin, e.expires.Sub(e.mandatoryAt)/10))
}

// retryAt returns when the provider may next be called after an attempt
// that failed at now, with the backoff delay drawn for it, while the cache
// holds e (nil when none): now + delay, except that while e is valid the
// wait never steps over e's last chance, so that an STS that comes back
// shortly before the real expiry is seen before it: at least one attempt
// falls between the last failure and the expiry. It is never earlier than
// now + minDelay (MinBackoff), whatever the last chance: an attempt after
// the last chance already was the last one before expiry, and is backed off
// as usual.
func retryAt(now time.Time, delay, minDelay time.Duration, e *entry) time.Time {
	now = now.Round(0)
	next := now.Add(delay)
	if !e.valid(now) {
		return next
	}
	if last := e.lastChance(); now.Before(last) && next.After(last) {
		next = latest(last, now.Add(minDelay))
	}
	return next
}

// nextWake returns when the background refresher should next act: at the
// start of the advisory window while the credentials are fresh, otherwise
// now or, after a failure, when the backoff allows the next attempt.
func nextWake(now time.Time, e *entry, nextAttempt time.Time) time.Time {
	if e.phase(now) == phaseFresh {
		return e.refreshAt
	}
	if nextAttempt.After(now) {
		return nextAttempt
	}
	return now
}

// usableFromStore reports whether credentials loaded from a store at now
// may replace cur (nil when the cache has none): they must have keys, not be
// the ones Invalidate dropped, be fresh by the policy (before their own
// advisory window, without jitter), and expire later than cur.
func (p policy) usableFromStore(creds aws.Credentials, now time.Time, lifetime time.Duration, cur *entry, revoked string) bool {
	if !creds.HasKeys() || (revoked != "" && creds.AccessKeyID == revoked) {
		return false
	}
	e := policy{advisory: p.advisory, mandatory: p.mandatory}.plan(creds, now, lifetime, 0, 0, false)
	if e.phase(now) != phaseFresh {
		return false
	}
	return !cur.valid(now) || e.expires.After(cur.expires)
}

// storeLifetime estimates the lifetime of credentials loaded from a store,
// which does not record when they were issued: what remains of them, or the
// lifetime last seen from the provider when that is longer.
func storeLifetime(creds aws.Credentials, now time.Time, last time.Duration) time.Duration {
	return max(creds.Expires.Sub(now), last)
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
