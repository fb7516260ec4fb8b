package cache

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The policy is pure: these tests use no clock, only values of now.

var defaultPolicy = policy{mandatory: defaultMandatoryWindow, jitter: defaultJitter}

func TestWindows(t *testing.T) {
	tests := []struct {
		lifetime        time.Duration
		advisory, mand  time.Duration
		name            string
		advCap, mandCap time.Duration
	}{
		{name: "1s", lifetime: time.Second, advisory: 250 * time.Millisecond, mand: 100 * time.Millisecond},
		{name: "15m", lifetime: 15 * time.Minute, advisory: 225 * time.Second, mand: 90 * time.Second},
		{name: "1h", lifetime: time.Hour, advisory: 15 * time.Minute, mand: 5 * time.Minute},
		{name: "20m: the 5-minute tier", lifetime: 20 * time.Minute, advisory: 5 * time.Minute, mand: 2 * time.Minute},
		{name: "21m: the 15-minute tier, a quarter", lifetime: 21 * time.Minute, advisory: 315 * time.Second, mand: 126 * time.Second},
		{name: "89m: the 15-minute tier", lifetime: 89 * time.Minute, advisory: 15 * time.Minute, mand: 5 * time.Minute},
		{name: "90m: the 1-hour tier, a quarter", lifetime: 90 * time.Minute, advisory: 22*time.Minute + 30*time.Second, mand: 5 * time.Minute},
		{name: "12h: the 1-hour tier", lifetime: 12 * time.Hour, advisory: time.Hour, mand: 5 * time.Minute},
		{name: "12h, a 15-minute cap", lifetime: 12 * time.Hour, advCap: 15 * time.Minute, mandCap: 5 * time.Minute, advisory: 15 * time.Minute, mand: 5 * time.Minute},
		{name: "zero", lifetime: 0, advisory: 0, mand: 0},
		{name: "negative", lifetime: -time.Hour, advisory: 0, mand: 0},
		{name: "mandatory capped by advisory", lifetime: time.Hour, advCap: 2 * time.Minute, mandCap: 5 * time.Minute, advisory: 2 * time.Minute, mand: 2 * time.Minute},
		{name: "small caps", lifetime: 12 * time.Hour, advCap: time.Minute, mandCap: 10 * time.Second, advisory: time.Minute, mand: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultPolicy
			if tt.advCap != 0 {
				p.advisory, p.mandatory = tt.advCap, tt.mandCap
			}
			adv, mand := p.windows(tt.lifetime)
			if adv != tt.advisory || mand != tt.mand {
				t.Errorf("windows(%v) = %v, %v; want %v, %v", tt.lifetime, adv, mand, tt.advisory, tt.mand)
			}
		})
	}
}

func credsExpiring(e time.Time) aws.Credentials {
	return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", CanExpire: true, Expires: e}
}

func TestPlan(t *testing.T) {
	now := t0
	exp := now.Add(time.Hour)
	tests := []struct {
		name      string
		p         policy
		u1, u2    float64
		spread    bool
		refreshAt time.Time
	}{
		{name: "no jitter", p: policy{advisory: 15 * time.Minute, mandatory: 5 * time.Minute}, u1: 0.9, u2: 0.9, spread: true, refreshAt: exp.Add(-15 * time.Minute)},
		{name: "jitter u1=0", p: defaultPolicy, u1: 0, refreshAt: exp.Add(-15 * time.Minute)},
		{name: "jitter u1=0.5", p: defaultPolicy, u1: 0.5, refreshAt: exp.Add(-15*time.Minute + 150*time.Second)},
		{name: "jitter u1=1 (bound)", p: defaultPolicy, u1: 1, refreshAt: exp.Add(-10 * time.Minute)},
		{name: "full jitter u1=1", p: policy{advisory: 15 * time.Minute, mandatory: 5 * time.Minute, jitter: 1}, u1: 1, refreshAt: exp.Add(-5 * time.Minute)},
		{name: "spread u2=0", p: defaultPolicy, u1: 0, u2: 0, spread: true, refreshAt: exp.Add(-15 * time.Minute)},
		{name: "spread u2=0.5", p: defaultPolicy, u1: 0, u2: 0.5, spread: true, refreshAt: now.Add(45 * time.Minute / 2)},
		{name: "spread u2=0.5, u1=1", p: defaultPolicy, u1: 1, u2: 0.5, spread: true, refreshAt: now.Add(25 * time.Minute)},
		{name: "spread u2=1 (bound): just after now", p: defaultPolicy, u1: 0, u2: 1, spread: true, refreshAt: now.Add(time.Nanosecond)},
		{name: "spread u2 just under 1: never now", p: defaultPolicy, u1: 0, u2: 1 - 0x1p-53, spread: true, refreshAt: now.Add(time.Nanosecond)},
		{name: "spread off", p: defaultPolicy, u1: 0, u2: 1, spread: false, refreshAt: exp.Add(-15 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.p.plan(credsExpiring(exp), now, time.Hour, tt.u1, tt.u2, tt.spread)
			if !e.refreshAt.Equal(tt.refreshAt) {
				t.Errorf("refreshAt = %v; want %v", e.refreshAt, tt.refreshAt)
			}
			if !e.creds.Expires.Equal(e.refreshAt) {
				t.Errorf("handed-out Expires = %v; want refreshAt %v", e.creds.Expires, e.refreshAt)
			}
			if !e.expires.Equal(exp) || !e.mandatoryAt.Equal(exp.Add(-5*time.Minute)) {
				t.Errorf("expires, mandatoryAt = %v, %v", e.expires, e.mandatoryAt)
			}
		})
	}

	t.Run("cannot expire", func(t *testing.T) {
		creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
		e := defaultPolicy.plan(creds, now, 0, 0.5, 0.5, true)
		if e.phase(now.Add(100*365*24*time.Hour)) != phaseFresh || e.creds.CanExpire || !e.creds.Expires.IsZero() {
			t.Errorf("entry of credentials that cannot expire: %+v", e)
		}
	})
	t.Run("no monotonic reading", func(t *testing.T) {
		e := defaultPolicy.plan(credsExpiring(time.Now().Add(time.Hour)), time.Now(), time.Hour, 0.3, 0.3, true)
		for _, d := range []time.Time{e.expires, e.refreshAt, e.mandatoryAt} {
			if d != d.Round(0) {
				t.Errorf("deadline %v carries a monotonic reading", d)
			}
		}
	})
}

func TestSpreadFirst(t *testing.T) {
	at := t0.Add(48 * time.Minute)
	tests := []struct {
		u    float64
		from time.Time
		want time.Time
	}{
		{0, t0, at},
		{0.25, t0, t0.Add(36 * time.Minute)},
		{0.5, t0, t0.Add(24 * time.Minute)},
		{1 - 0x1p-53, t0, t0.Add(time.Nanosecond)},
		{0.5, at.Add(-time.Nanosecond), at},
	}
	for _, tt := range tests {
		if got := spreadFirst(tt.from, at, tt.u); !got.Equal(tt.want) {
			t.Errorf("spreadFirst(+%v, +%v, %v) = +%v; want +%v", tt.from.Sub(t0), at.Sub(t0), tt.u, got.Sub(t0), tt.want.Sub(t0))
		}
	}
}

// TestPlanInvariants checks, for lifetimes from 1 second to 12 hours and
// random jitter, that the refresh comes after now, the mandatory window
// after the refresh, the expiry last, and that the Expires handed out is
// never later than expiry minus the mandatory window.
func TestPlanInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lifetimes := []time.Duration{time.Second, 10 * time.Second, time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 12 * time.Hour}
	for _, lt := range lifetimes {
		for _, j := range []float64{0, 0.5, 1} {
			p := policy{mandatory: defaultMandatoryWindow, jitter: j}
			for i := 0; i < 1000; i++ {
				now := t0
				spread := r.IntN(2) == 0
				e := p.plan(credsExpiring(now.Add(lt)), now, lt, r.Float64(), r.Float64(), spread)
				if !e.refreshAt.After(now) || e.mandatoryAt.Before(e.refreshAt) || !e.expires.After(e.mandatoryAt) {
					t.Fatalf("lifetime %v jitter %v: now %v refreshAt %v mandatoryAt %v expires %v",
						lt, j, now, e.refreshAt, e.mandatoryAt, e.expires)
				}
				if e.creds.Expires.After(e.mandatoryAt) {
					t.Fatalf("lifetime %v: handed-out Expires %v after mandatoryAt %v", lt, e.creds.Expires, e.mandatoryAt)
				}
				// Apart from the first refresh after a start (spread, once),
				// the fresh period is at least a sixth of the lifetime: no
				// refresh storm for short-lived credentials.
				if fresh := e.refreshAt.Sub(now); fresh < lt/6 && !(spread && j > 0) {
					t.Fatalf("lifetime %v: fresh for only %v", lt, fresh)
				}
			}
		}
	}
}

// entryAt returns an entry with refresh at +10m, mandatory at +20m and
// expiry at +30m from t0.
func entryAt() *entry {
	return &entry{
		creds:       aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", CanExpire: true, Expires: t0.Add(10 * time.Minute)},
		refreshAt:   t0.Add(10 * time.Minute),
		mandatoryAt: t0.Add(20 * time.Minute),
		expires:     t0.Add(30 * time.Minute),
	}
}

func TestPhase(t *testing.T) {
	e := entryAt()
	tests := []struct {
		e    *entry
		at   time.Duration
		want phase
	}{
		{nil, 0, phaseNone},
		{e, 0, phaseFresh},
		{e, 10*time.Minute - 1, phaseFresh},
		{e, 10 * time.Minute, phaseAdvisory},
		{e, 20*time.Minute - 1, phaseAdvisory},
		{e, 20 * time.Minute, phaseMandatory},
		{e, 30*time.Minute - 1, phaseMandatory},
		{e, 30 * time.Minute, phaseNone},
	}
	for _, tt := range tests {
		if got := tt.e.phase(t0.Add(tt.at)); got != tt.want {
			t.Errorf("phase at +%v (entry %v) = %v; want %v", tt.at, tt.e != nil, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	e := entryAt()
	const (
		fresh     = 5 * time.Minute
		advisory  = 15 * time.Minute
		mandatory = 25 * time.Minute
		expired   = 35 * time.Minute
	)
	tests := []struct {
		name     string
		e        *entry
		at       time.Duration
		backoff  bool // nextAttempt in the future
		inflight bool
		want     action
	}{
		{"fresh", e, fresh, false, false, actServe},
		{"fresh, backing off", e, fresh, true, true, actServe},
		{"advisory starts a refresh", e, advisory, false, false, actServeRefresh},
		{"advisory joins nothing", e, advisory, false, true, actServe},
		{"advisory backing off", e, advisory, true, false, actServe},
		{"mandatory waits", e, mandatory, false, false, actWait},
		{"mandatory joins", e, mandatory, false, true, actWait},
		{"mandatory backing off serves stale", e, mandatory, true, false, actServe},
		{"mandatory backing off, refresh in flight", e, mandatory, true, true, actWait},
		{"expired waits", e, expired, false, false, actWait},
		{"expired backing off fails", e, expired, true, false, actFail},
		{"expired joins", e, expired, true, true, actWait},
		{"none waits", nil, 0, false, false, actWait},
		{"none backing off fails", nil, 0, true, false, actFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.at)
			var next time.Time
			if tt.backoff {
				next = now.Add(time.Second)
			} else if tt.at > 0 {
				next = now.Add(-time.Second) // a past backoff does not count
			}
			if got := decide(now, tt.e, next, tt.inflight); got != tt.want {
				t.Errorf("decide = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestHandout(t *testing.T) {
	e := entryAt()
	tests := []struct {
		name       string
		at         time.Duration
		next       time.Duration // nextAttempt from t0; 0 for none
		refreshing bool          // a refresh is in flight
		want       time.Duration // Expires from t0
	}{
		{"fresh: the refresh moment", 5 * time.Minute, 0, false, 10 * time.Minute},
		{"fresh, refresh in flight (Start): the refresh moment", 5 * time.Minute, 0, true, 10 * time.Minute},
		{"advisory, in flight: now + hold", 15 * time.Minute, 0, true, 15*time.Minute + refreshingHold},
		{"advisory, no refresh (closed): the past refresh moment", 15 * time.Minute, 0, false, 10 * time.Minute},
		{"advisory backing off: next attempt", 15 * time.Minute, 17 * time.Minute, false, 17 * time.Minute},
		{"advisory backing off past mandatory: mandatory", 15 * time.Minute, 24 * time.Minute, false, 20 * time.Minute},
		{"advisory backing off wins over in flight", 15 * time.Minute, 17 * time.Minute, true, 17 * time.Minute},
		{"mandatory backing off: next attempt", 22 * time.Minute, 25 * time.Minute, false, 25 * time.Minute},
		{"mandatory backing off past expiry: expiry", 22 * time.Minute, 40 * time.Minute, false, 30 * time.Minute},
		{"mandatory, in flight (a caller that gave up waiting): now + hold", 22 * time.Minute, 0, true, 22*time.Minute + refreshingHold},
		{"mandatory, in flight, hold past expiry: expiry", 30*time.Minute - refreshingHold/2, 0, true, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var next time.Time
			if tt.next != 0 {
				next = t0.Add(tt.next)
			}
			got := e.handout(t0.Add(tt.at), next, tt.refreshing)
			if !got.Expires.Equal(t0.Add(tt.want)) {
				t.Errorf("Expires = +%v; want +%v", got.Expires.Sub(t0), tt.want)
			}
			if got.Expires.After(e.expires) {
				t.Errorf("Expires after the real expiry")
			}
		})
	}
	t.Run("cannot expire", func(t *testing.T) {
		e := defaultPolicy.plan(aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S"}, t0, 0, 0, 0, false)
		for _, refreshing := range []bool{false, true} {
			if got := e.handout(t0, t0.Add(time.Minute), refreshing); got.CanExpire || !got.Expires.IsZero() {
				t.Errorf("handout of credentials that cannot expire (refreshing %v): %v", refreshing, got.Expires)
			}
		}
	})
}

// TestHandoutWhileRefreshing is the rule for a refresh in flight in the
// advisory window, across that window: the SDK's wrapper may keep the
// credentials refreshingHold from now, never into the mandatory window.
func TestHandoutWhileRefreshing(t *testing.T) {
	e := entryAt() // advisory from +10m, mandatory from +20m
	mand := 20 * time.Minute
	tests := []struct {
		at   time.Duration
		want time.Duration
	}{
		{10 * time.Minute, 10*time.Minute + refreshingHold},
		{15 * time.Minute, 15*time.Minute + refreshingHold},
		{mand - refreshingHold - 1, mand - 1},
		{mand - refreshingHold, mand},
		{mand - refreshingHold/2, mand},
		{mand - 1, mand},
	}
	for _, tt := range tests {
		t.Run("+"+tt.at.String(), func(t *testing.T) {
			now := t0.Add(tt.at)
			got := e.handout(now, time.Time{}, true)
			if !got.Expires.Equal(t0.Add(tt.want)) {
				t.Errorf("Expires = +%v; want +%v", got.Expires.Sub(t0), tt.want)
			}
			if !got.Expires.After(now) || got.Expires.After(e.mandatoryAt) {
				t.Errorf("Expires +%v not in (now, mandatoryAt]", got.Expires.Sub(t0))
			}
			if got.AccessKeyID != e.creds.AccessKeyID {
				t.Errorf("handout changed the credentials")
			}
		})
	}
	t.Run("short-lived credentials: capped by the mandatory window", func(t *testing.T) {
		e := policy{mandatory: defaultMandatoryWindow}.plan(credsExpiring(t0.Add(time.Second)), t0, time.Second, 0, 0, false)
		now := e.refreshAt // +750ms; mandatory from +900ms
		if got := e.handout(now, time.Time{}, true); !got.Expires.Equal(e.mandatoryAt) {
			t.Errorf("1-second credentials: Expires +%v; want the mandatory window at +%v", got.Expires.Sub(t0), e.mandatoryAt.Sub(t0))
		}
	})
	t.Run("no monotonic reading", func(t *testing.T) {
		now := time.Now()
		e := defaultPolicy.plan(credsExpiring(now.Add(time.Hour)), now.Add(-50*time.Minute), time.Hour, 0, 0, false)
		got := e.handout(now, time.Time{}, true)
		if got.Expires != got.Expires.Round(0) {
			t.Errorf("Expires %v carries a monotonic reading", got.Expires)
		}
	})
}

func TestLastChance(t *testing.T) {
	tests := []struct {
		name string
		e    *entry
		want time.Duration // before the real expiry
	}{
		{"entryAt: 10-minute mandatory window", entryAt(), maxLastChanceMargin},
		{"1h, default windows", defaultPolicy.plan(credsExpiring(t0.Add(time.Hour)), t0, time.Hour, 0, 0, false), maxLastChanceMargin},
		{"15m: 90 s mandatory window", defaultPolicy.plan(credsExpiring(t0.Add(15*time.Minute)), t0, 15*time.Minute, 0, 0, false), 9 * time.Second},
		{"1s: 100 ms mandatory window", defaultPolicy.plan(credsExpiring(t0.Add(time.Second)), t0, time.Second, 0, 0, false), 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.expires.Sub(tt.e.lastChance()); got != tt.want {
				t.Errorf("last chance %v before expiry; want %v", got, tt.want)
			}
		})
	}
	t.Run("cannot expire", func(t *testing.T) {
		e := defaultPolicy.plan(aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S"}, t0, 0, 0, 0, false)
		if got := e.lastChance(); !got.Equal(farFuture) {
			t.Errorf("last chance %v; want never", got)
		}
	})
}

// TestRetryAt is the rule that keeps the failure backoff from stepping
// over the real expiry: while the credentials are valid, the next attempt
// is no later than their last chance (expiry − 10 s here), but never
// earlier than MinBackoff from now.
func TestRetryAt(t *testing.T) {
	e := entryAt() // mandatory from +20m, expiry +30m: last chance +29m50s
	short := defaultPolicy.plan(credsExpiring(t0.Add(time.Second)), t0, time.Second, 0, 0, false)
	never := defaultPolicy.plan(aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S"}, t0, 0, 0, 0, false)
	const (
		m = time.Minute
		s = time.Second
	)
	tests := []struct {
		name       string
		e          *entry
		at         time.Duration // the failed attempt, from t0
		delay, min time.Duration // the backoff drawn, MinBackoff
		want       time.Duration // the next attempt, from t0
	}{
		{"no credentials: the backoff", nil, 5 * m, 5 * m, s, 10 * m},
		{"advisory, well before the last chance: the backoff", e, 12 * m, 5 * m, s, 17 * m},
		{"mandatory, before the last chance: the backoff", e, 22 * m, 5 * m, s, 27 * m},
		{"backoff ends at the last chance: the backoff", e, 25 * m, 4*m + 50*s, s, 29*m + 50*s},
		{"backoff past the last chance: the last chance", e, 27 * m, 5 * m, s, 29*m + 50*s},
		{"backoff 1 ns past the last chance: the last chance", e, 27 * m, 2*m + 50*s + 1, s, 29*m + 50*s},
		{"backoff past expiry from the advisory window: the last chance", e, 26 * m, 5 * m, s, 29*m + 50*s},
		{"last chance sooner than MinBackoff: MinBackoff", e, 29*m + 49*s + 500*time.Millisecond, 5 * m, s, 29*m + 50*s + 500*time.Millisecond},
		{"MinBackoff past expiry: MinBackoff", e, 29*m + 40*s, 5 * m, 30 * s, 30*m + 10*s},
		{"the attempt at the last chance failed: the backoff", e, 29*m + 50*s, 5 * m, s, 34*m + 50*s},
		{"after the last chance, before expiry: the backoff", e, 29*m + 55*s, 2 * m, s, 31*m + 55*s},
		{"expired: the backoff", e, 31 * m, 5 * m, s, 36 * m},
		{"cannot expire: the backoff", never, 0, 5 * m, s, 5 * m},
		{"1s credentials: the last chance, 10 ms before expiry", short, 900 * time.Millisecond, 2 * s, time.Millisecond, 990 * time.Millisecond},
		{"1s credentials, default MinBackoff: MinBackoff", short, 900 * time.Millisecond, 2 * s, s, 1900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := retryAt(t0.Add(tt.at), tt.delay, tt.min, tt.e)
			if !got.Equal(t0.Add(tt.want)) {
				t.Errorf("retryAt(+%v, %v, %v) = +%v; want +%v", tt.at, tt.delay, tt.min, got.Sub(t0), tt.want)
			}
		})
	}
	t.Run("invariants", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		last := e.lastChance()
		for range 10000 {
			now := t0.Add(time.Duration(rng.Int64N(int64(35 * m))))
			minDelay := time.Duration(1 + rng.Int64N(int64(30*s)))
			delay := minDelay + time.Duration(rng.Int64N(int64(5*m)))
			got := retryAt(now, delay, minDelay, e)
			if got.Before(now.Add(minDelay)) || got.After(now.Add(delay)) {
				t.Fatalf("retryAt(+%v, %v, %v) = +%v: outside [now + MinBackoff, now + delay]", now.Sub(t0), delay, minDelay, got.Sub(t0))
			}
			if now.Before(last) && got.After(latest(last, now.Add(minDelay))) {
				t.Fatalf("retryAt(+%v, %v, %v) = +%v: steps over the last chance +%v", now.Sub(t0), delay, minDelay, got.Sub(t0), last.Sub(t0))
			}
		}
	})
	t.Run("no monotonic reading", func(t *testing.T) {
		now := time.Now()
		e := defaultPolicy.plan(credsExpiring(now.Add(time.Minute)), now.Add(-59*time.Minute), time.Hour, 0, 0, false)
		if got := retryAt(now, 5*time.Minute, time.Second, e); got != got.Round(0) || !got.Equal(e.lastChance()) {
			t.Errorf("retryAt = %v; want the last chance %v, without a monotonic reading", got, e.lastChance())
		}
	})
}

func TestNextWake(t *testing.T) {
	e := entryAt()
	tests := []struct {
		name string
		e    *entry
		at   time.Duration
		next time.Duration
		want time.Duration
	}{
		{"fresh: refresh moment", e, 5 * time.Minute, 0, 10 * time.Minute},
		{"advisory: now", e, 15 * time.Minute, 0, 15 * time.Minute},
		{"advisory backing off", e, 15 * time.Minute, 16 * time.Minute, 16 * time.Minute},
		{"none: now", nil, 0, 0, 0},
		{"none backing off", nil, 0, time.Minute, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var next time.Time
			if tt.next != 0 {
				next = t0.Add(tt.next)
			}
			if got := nextWake(t0.Add(tt.at), tt.e, next); !got.Equal(t0.Add(tt.want)) {
				t.Errorf("nextWake = +%v; want +%v", got.Sub(t0), tt.want)
			}
		})
	}
}

func TestUsableFromStore(t *testing.T) {
	now := t0
	cur := defaultPolicy.plan(credsExpiring(now.Add(10*time.Minute)), now.Add(-50*time.Minute), time.Hour, 0, 0, false)
	tests := []struct {
		name    string
		creds   aws.Credentials
		cur     *entry
		revoked string
		want    bool
	}{
		{"fresh, no current", credsExpiring(now.Add(time.Hour)), nil, "", true},
		{"fresh and newer", credsExpiring(now.Add(time.Hour)), cur, "", true},
		{"same as current", credsExpiring(now.Add(10 * time.Minute)), cur, "", false},
		{"in its advisory window", credsExpiring(now.Add(12 * time.Minute)), cur, "", false},
		{"expired", credsExpiring(now.Add(-time.Second)), nil, "", false},
		{"revoked", credsExpiring(now.Add(time.Hour)), nil, "AKID", false},
		{"no keys", aws.Credentials{CanExpire: true, Expires: now.Add(time.Hour)}, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaultPolicy.usableFromStore(tt.creds, now, storeLifetime(tt.creds, now, time.Hour), tt.cur, tt.revoked)
			if got != tt.want {
				t.Errorf("usableFromStore = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestStoreLifetime(t *testing.T) {
	c := credsExpiring(t0.Add(20 * time.Minute))
	if got := storeLifetime(c, t0, 0); got != 20*time.Minute {
		t.Errorf("unknown lifetime: %v", got)
	}
	if got := storeLifetime(c, t0, time.Hour); got != time.Hour {
		t.Errorf("known lifetime: %v", got)
	}
}
