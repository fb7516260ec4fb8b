package deviceflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/internal/redact"
	"github.com/awsoidc/awsoidc/tokensource"
)

// renew is the function of a renewal in s.renewals: it runs once for all
// the callers of [Source.Token] that need it, under a ctx that none of them
// can cancel, bounded by [renewTimeout]. Under the store lock it uses, in
// this order: the token in memory when a renewal has just ended, the stored
// tokens when another process renewed them already, a refresh with the
// stored refresh token. When only a device login can help, it returns a
// [*loginNeeded].
//
// When the store cannot be locked or read, the token in memory is served
// while it has not expired (see [Source.serveCurrent]).
func (s *Source) renew(ctx context.Context) (tokensource.Token, error) {
	if t, ok := s.fresh(); ok { // a renewal ended since the caller looked
		return t, nil
	}
	cand, unlock, ok, err := s.lockAndLoad(ctx)
	if err != nil {
		return s.serveCurrent(ctx, err)
	}
	if ok {
		return s.pick(cand), nil
	}
	switch {
	case cand == nil:
		s.unlockStore(unlock)
		return tokensource.Token{}, &loginNeeded{reason: "no stored tokens"}
	case cand.RefreshToken == "":
		s.unlockStore(unlock)
		return tokensource.Token{}, &loginNeeded{reason: "the token expired and there is no refresh token"}
	}
	defer s.unlockStore(unlock)
	return s.refreshStored(ctx, cand)
}

// lockAndLoad takes the store lock and loads the stored tokens. When they
// are usable, it releases the lock, makes them current and returns them
// with ok set. Otherwise it returns them (nil when there are none) with the
// lock held: the caller releases it with unlock.
func (s *Source) lockAndLoad(ctx context.Context) (cand *Tokens, unlock func() error, ok bool, err error) {
	unlock, err = s.lockStore(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	if cand, err = s.load(ctx); err != nil {
		s.unlockStore(unlock)
		return nil, nil, false, err
	}
	if cand != nil && s.usable(cand, s.clk.Now()) {
		// In effect before the lock is released: a Logout that takes it
		// next must find these tokens, and clear them from memory too.
		s.setCurrent(cand)
		s.unlockStore(unlock)
		return cand, nil, true, nil
	}
	return cand, unlock, false, nil
}

// serveCurrent answers a renewal that could not lock or read the store
// (err): it returns the token in memory while it has not expired, with a
// warning, as after a failed refresh (static stability), and backs off
// before the next attempt; else err. A ctx error (the renewal timed out) is
// returned as is.
func (s *Source) serveCurrent(ctx context.Context, err error) (tokensource.Token, error) {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return tokensource.Token{}, err
	}
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur == nil {
		return tokensource.Token{}, err
	}
	tok := s.pick(cur)
	if tok.Value == "" || tok.Expiry.IsZero() || !s.clk.Now().Before(tok.Expiry) {
		return tokensource.Token{}, err
	}
	s.log.Warn("deviceflow: the token store failed; serving the current token until it expires",
		"issuer", s.issuer, "expiry", tok.Expiry, "err", err)
	s.noteRefresh(err)
	return tok, nil
}

// renewTimeout bounds a renewal: waiting for the store lock, which another
// process holds for at most its own refresh, then refreshing and saving.
const renewTimeout = 2 * time.Minute

// refreshTimeout bounds the save of a login's tokens once the user has
// approved it: it is not cancelled with the caller's ctx.
const refreshTimeout = time.Minute

// loginNeeded is the error of a renewal when only a device login can help:
// its message is the reason, its cause the token endpoint's error.
type loginNeeded struct {
	reason string
	err    error
}

func (e *loginNeeded) Error() string { return e.reason }
func (e *loginNeeded) Unwrap() error { return e.err }

// refreshStored renews cand with its refresh token and saves the result;
// the caller holds the store lock. It runs in a renewal, whose ctx no
// caller cancels: once the refresh request is sent, an identity provider
// that rotates refresh tokens has already spent the old one, so the
// response must be saved even if every caller has given up, or the login
// would be lost.
//
// When the refresh token is rejected (RFC 6749 §5.2 invalid_grant; it is
// then removed from the store) or the response holds no usable token, it
// returns a [*loginNeeded].
func (s *Source) refreshStored(ctx context.Context, cand *Tokens) (tokensource.Token, error) {
	next, err := s.refresh(ctx, cand)
	switch {
	case err == nil:
		s.saveQuietly(ctx, next)
	case isInvalidGrant(err):
		s.dropRefreshToken(ctx, cand)
	}
	s.noteRefresh(err)

	if err == nil {
		if s.usable(next, s.clk.Now()) {
			return s.pick(next), nil
		}
		reason := "the refresh response had no new, valid token"
		if !s.useAccessToken {
			reason = "the refresh response had no new ID token (OpenID Connect Core §12.2)"
		}
		return tokensource.Token{}, &loginNeeded{reason: reason}
	}
	if isInvalidGrant(err) {
		return tokensource.Token{}, &loginNeeded{reason: "the refresh token was rejected (expired or revoked)", err: err}
	}
	// The identity provider may be down: keep serving the current token
	// while it has not expired (static stability).
	if cur := s.pick(cand); cur.Value != "" && !cur.Expiry.IsZero() && s.clk.Now().Before(cur.Expiry) {
		s.log.Warn("deviceflow: refresh failed; serving the current token until it expires",
			"issuer", s.issuer, "expiry", cur.Expiry, "err", err)
		s.setCurrent(cand)
		return cur, nil
	}
	return tokensource.Token{}, err
}

// noteRefresh records the outcome of a refresh, or a store failure
// ([Source.serveCurrent]), for the retry backoff.
func (s *Source) noteRefresh(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil || isInvalidGrant(err) {
		s.failures, s.retryAt = 0, time.Time{}
		return
	}
	s.retryAt = s.clk.Now().Add(s.retryBackoff.Delay(s.failures))
	s.failures++
}

func isInvalidGrant(err error) bool {
	var te *TokenError
	return errors.As(err, &te) && te.ErrorCode == codeInvalidGrant
}

// dropRefreshToken forgets the rejected refresh token of cand, in the store
// and in memory, so that no process tries it again.
func (s *Source) dropRefreshToken(ctx context.Context, cand *Tokens) {
	s.log.Info("deviceflow: refresh token rejected", "issuer", s.issuer, "refresh_token", redact.Fingerprint(cand.RefreshToken))
	dropped := *cand
	dropped.RefreshToken = ""
	if dropped.IDToken == "" && dropped.AccessToken == "" {
		if err := s.store.Delete(ctx, s.key); err != nil {
			s.log.Warn("deviceflow: cannot delete stored tokens", "err", err)
		}
		s.setCurrent(nil)
		return
	}
	s.saveQuietly(ctx, &dropped)
}

// refresh renews cur with its refresh token (RFC 6749 §6). The result keeps
// the old refresh token when the identity provider did not rotate it, and
// the old ID token when the response has none.
func (s *Source) refresh(ctx context.Context, cur *Tokens) (*Tokens, error) {
	ep, err := s.endpoint(ctx)
	if err != nil {
		return nil, err
	}
	ts := s.oauthConfig(ep).TokenSource(s.httpContext(ctx), &oauth2.Token{RefreshToken: cur.RefreshToken})
	tok, err := ts.Token()
	if err != nil {
		return nil, s.tokenRequestError("refresh_token", err)
	}
	next, err := s.fromOAuth2(tok, cur)
	if err != nil {
		return nil, err
	}
	s.log.Debug("deviceflow: refreshed", "issuer", s.issuer, "tokens", next,
		"rotated", next.RefreshToken != cur.RefreshToken)
	return next, nil
}

// tokenRequestError converts an error of x/oauth2 to this package's, with
// the Source's secrets scrubbed from what the server wrote ([Source.remote]).
func (s *Source) tokenRequestError(grant string, err error) error {
	err = s.remote(err)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return newTokenError(grant, re)
	}
	return fmt.Errorf("deviceflow: %s request: %w", grant, err)
}

// errNoIDToken is returned when a token response lacks the id_token the
// Source needs.
var errNoIDToken = errors.New(`deviceflow: the token response has no "id_token": request the "openid" scope, or set UseAccessToken`)

// fromOAuth2 converts a token response to [Tokens]. prev, when not nil,
// supplies what a refresh response may leave out: the refresh token and the
// ID token (OpenID Connect Core §12.2).
func (s *Source) fromOAuth2(tok *oauth2.Token, prev *Tokens) (*Tokens, error) {
	idt, _ := tok.Extra("id_token").(string)
	s.hold(tok.AccessToken, tok.RefreshToken, idt) // even those refused below
	for _, f := range []struct{ name, value string }{
		{"access_token", tok.AccessToken}, {"refresh_token", tok.RefreshToken}, {"id_token", idt},
	} {
		if !isVSChars(f.value) {
			return nil, fmt.Errorf("deviceflow: the %s of the token response has characters outside %%x20-7E (RFC 6749 Appendix A)", f.name)
		}
	}
	now := s.clk.Now()
	t := &Tokens{
		Issuer:       s.issuer,
		ClientID:     s.clientID,
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		Obtained:     now,
	}
	if t.RefreshToken == "" && prev != nil {
		t.RefreshToken = prev.RefreshToken
	}
	if exp, err := tokensource.ParseExpiry(tok.AccessToken); err == nil {
		t.AccessTokenExpiry = exp
	} else if tok.ExpiresIn > 0 {
		t.AccessTokenExpiry = now.Add(time.Duration(min(tok.ExpiresIn, maxExpiresIn)) * time.Second)
	} else if !tok.Expiry.IsZero() {
		// x/oauth2 computed it from expires_in with the wall clock.
		t.AccessTokenExpiry = now.Add(time.Until(tok.Expiry).Round(time.Second))
	}
	switch {
	case idt != "":
		exp, err := tokensource.ParseExpiry(idt)
		if err != nil && !s.useAccessToken {
			return nil, fmt.Errorf("deviceflow: the id_token of the token response: %w", err)
		}
		t.IDToken, t.IDTokenExpiry = idt, exp
	case prev != nil:
		t.IDToken, t.IDTokenExpiry = prev.IDToken, prev.IDTokenExpiry
	case !s.useAccessToken:
		return nil, errNoIDToken
	}
	if s.useAccessToken && t.AccessToken == "" {
		return nil, errors.New("deviceflow: the token response has no access_token")
	}
	return t, nil
}

// isVSChars reports whether s holds only visible ASCII and spaces, the
// VSCHAR set (%x20-7E) that RFC 6749 Appendix A allows in access and refresh
// tokens (an ID token, a JWT, is narrower still). Anything else is not a
// token, and would not survive the store's JSON unchanged.
func isVSChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// maxExpiresIn caps expires_in (seconds) so that it cannot overflow a
// time.Duration: ten years.
const maxExpiresIn = 10 * 365 * 24 * 3600
