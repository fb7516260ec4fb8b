package tokensource

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/internal/flight"
)

// Defaults of [ReuseOptions].
const (
	defaultReuseMargin       = time.Minute
	defaultReuseFetchTimeout = 15 * time.Minute
)

// ReuseOptions configures [Reuse].
type ReuseOptions struct {
	// Margin is how long before its expiry a token stops being reused: a
	// token is served again while now < Expiry − Margin. It leaves time for
	// the token to reach STS and for clock skew. Zero or less means one
	// minute. A token that arrives with less than Margin left is returned to
	// the callers that waited for it, but not kept.
	Margin time.Duration

	// MaxAge is how long a token without an expiry (not a JWT, or a JWT
	// without "exp") is reused after it was fetched. Zero or less means such
	// tokens are never reused: every call fetches.
	MaxAge time.Duration

	// FetchTimeout bounds one fetch from the wrapped source. The fetch is
	// shared by every caller waiting for it, so it runs without their
	// cancellation (each caller still returns as soon as its own ctx is done)
	// and with this timeout instead. Zero or less means 15 minutes, long
	// enough for a fetch that waits for a person (a device-flow login).
	FetchTimeout time.Duration
}

// Reuse returns a [Source] that serves the last token of src until shortly
// before it expires ([ReuseOptions].Margin), and only then asks src again.
// Use it in front of a source that is slow or rate limited (an OAuth 2.0
// token endpoint, a device flow); a [File] is cheap to read and needs none.
//
// Concurrent callers share one fetch from src: never more than one call to
// src.Token is in flight. Each caller waits for it under its own ctx and
// returns ctx.Err() when ctx is done first; the fetch goes on for the others
// (see [ReuseOptions].FetchTimeout). When a fetch fails while the token held
// has not expired yet (by its "exp"), that token is returned instead of the
// error.
//
// Reuse keeps serving a token that STS rejected (InvalidIdentityToken) until
// the margin: use it in front of sources whose tokens stay valid until their
// "exp", and keep its margin above the clock skew between here and STS.
//
// Reuse is safe for concurrent use. The fast path is an atomic load and a
// time comparison. %v of the source describes it and the source it wraps,
// never the token held.
func Reuse(src Source, optFns ...func(*ReuseOptions)) Source {
	var o ReuseOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Margin <= 0 {
		o.Margin = defaultReuseMargin
	}
	if o.MaxAge < 0 {
		o.MaxAge = 0
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = defaultReuseFetchTimeout
	}
	s := &reuseSource{src: src, opts: o, clock: clockutil.Real(), st: new(reuseState)}
	s.st.flight.Timeout = o.FetchTimeout
	return s
}

type reuseSource struct {
	src   Source
	opts  ReuseOptions // normalized by Reuse; read-only
	clock clock.Clock  // tells the time; tests set it, and st.flight.Clock, through internal/testhook
	st    *reuseState
}

// setClock makes s tell time and time its fetches on c.
func (s *reuseSource) setClock(c clock.Clock) {
	s.clock = c
	s.st.flight.Clock = c
}

// reuseState is the mutable part of a reuseSource. It sits behind a pointer
// so that fmt, which prints a struct held in another struct's unexported
// field by reflection (one level deep even through a pointer, for a verb
// such as %d), never reads it: that read would race with the atomics and the
// mutex inside.
type reuseState struct {
	held   atomic.Pointer[heldToken] // last token worth reusing; nil at first
	flight flight.Group[*heldToken]  // one fetch at a time, bounded by FetchTimeout
}

// heldToken is a token and when it was fetched. It is only ever reached
// through a pointer, so fmt cannot print the token by reflection.
type heldToken struct {
	tok     Token
	fetched time.Time
}

// reusable reports whether h may be served at now, a pure function of now.
func (h *heldToken) reusable(now time.Time, margin, maxAge time.Duration) bool {
	if h == nil || h.tok.Value == "" {
		return false
	}
	if !h.tok.Expiry.IsZero() {
		return now.Before(h.tok.Expiry.Add(-margin))
	}
	return maxAge > 0 && now.Before(h.fetched.Add(maxAge)) && !now.Before(h.fetched)
}

// Token returns the token held, or fetches a new one as described in
// [Reuse].
func (s *reuseSource) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	if h := s.st.held.Load(); h.reusable(s.clock.Now(), s.opts.Margin, s.opts.MaxAge) {
		return h.tok, nil
	}
	h, err := s.st.flight.Do(ctx, s.fetch)
	if err != nil {
		return Token{}, err
	}
	return h.tok, nil
}

// fetch is the flight: it asks src for a token, under ctx (the starting
// caller's values, not its cancellation, and FetchTimeout), and keeps it
// when it is worth reusing.
func (s *reuseSource) fetch(ctx context.Context) (*heldToken, error) {
	now := s.clock.Now()
	// A flight that ended just before this one started may have stored a
	// token that this caller did not see.
	if h := s.st.held.Load(); h.reusable(now, s.opts.Margin, s.opts.MaxAge) {
		return h, nil
	}
	tok, err := s.src.Token(ctx)
	now = s.clock.Now()
	if err != nil {
		// Static stability: a token that STS still accepts beats an error.
		if old := s.st.held.Load(); old != nil && !old.tok.Expiry.IsZero() && !old.tok.Expired(now) {
			return old, nil
		}
		return nil, err
	}
	h := &heldToken{tok: tok, fetched: now}
	if h.reusable(now, s.opts.Margin, s.opts.MaxAge) {
		s.st.held.Store(h)
	}
	return h, nil
}

func (s *reuseSource) describe() string { return "tokensource.Reuse(" + describeSource(s.src) + ")" }

// String describes the source and the source it wraps, never the token held.
func (s *reuseSource) String() string { return s.describe() }
