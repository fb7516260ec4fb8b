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

// renew runs under s.renewing. It takes the store lock, then uses, in this
// order: the stored tokens when another process renewed them already, a
// refresh with the stored refresh token, a device login when allowed (run
// without the store lock: see [Source.login]).
//
// When the store cannot be locked or read, the token in memory is served
// while it has not expired (see [Source.serveCurrent]).
func (s *Source) renew(ctx context.Context) (tokensource.Token, error) {
	cand, unlock, ok, err := s.lockAndLoad(ctx)
	if err != nil {
		return s.serveCurrent(ctx, err)
	}
	if ok {
		return s.pick(cand), nil
	}

	var reason string
	var cause error
	switch {
	case cand == nil:
		reason = "no stored tokens"
		s.unlockStore(unlock)
	case cand.RefreshToken == "":
		reason = "the token expired and there is no refresh token"
		s.unlockStore(unlock)
	default:
		// refresh takes over the store lock.
		tok, needLogin, err := s.refreshStored(ctx, cand, unlock)
		if !needLogin {
			return tok, err
		}
		reason, cause = err.Error(), errors.Unwrap(err)
	}
	if !s.interactive {
		return tokensource.Token{}, s.loginRequired(reason, cause)
	}
	t, err := s.login(ctx, false, reason)
	if t == nil {
		return tokensource.Token{}, err
	}
	if err != nil { // the caller gets its token all the same
		s.log.Error("deviceflow: cannot save tokens; they are kept in memory only", "issuer", s.issuer, "err", err)
	}
	return s.pick(t), nil
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
		s.unlockStore(unlock)
		s.setCurrent(cand)
		return cand, nil, true, nil
	}
	return cand, unlock, false, nil
}

// serveCurrent answers a renewal that could not lock or read the store
// (err): it returns the token in memory while it has not expired, with a
// warning, as after a failed refresh (static stability), and backs off
// before the next attempt; else err. A ctx error is returned as is: the
// caller gave up.
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

// refreshTimeout bounds a refresh once started: it is not cancelled with
// the caller's ctx (see [Source.refreshStored]).
const refreshTimeout = time.Minute

// loginNeeded is the error refreshStored returns when only a new login can
// help: its message is the reason, its cause the token endpoint's error.
type loginNeeded struct {
	reason string
	err    error
}

func (e *loginNeeded) Error() string { return e.reason }
func (e *loginNeeded) Unwrap() error { return e.err }

// refreshStored renews cand with its refresh token and saves the result,
// holding the store lock until the save is done; it owns unlock.
//
// The refresh and the save run in a goroutine of their own, under
// context.WithoutCancel(ctx) and [refreshTimeout]: once the refresh request
// is sent, an identity provider that rotates refresh tokens has already
// spent the old one, so the response must be saved even if the caller gives
// up (ctx done), or the login would be lost. The caller still returns at
// once when ctx is done.
//
// needLogin reports that the refresh token was rejected (RFC 6749 §5.2
// invalid_grant; it is then removed from the store) or that the response
// held no usable token; err is then a *loginNeeded.
func (s *Source) refreshStored(ctx context.Context, cand *Tokens, unlock func() error) (tok tokensource.Token, needLogin bool, err error) {
	type outcome struct {
		next *Tokens
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		defer s.unlockStore(unlock)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		next, err := s.refresh(rctx, cand)
		switch {
		case err == nil:
			s.saveQuietly(rctx, next)
		case isInvalidGrant(err):
			s.dropRefreshToken(rctx, cand)
		}
		// Here, not in the caller, who may have left already: the backoff
		// must hold for the next caller all the same.
		s.noteRefresh(err)
		done <- outcome{next, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		return tokensource.Token{}, false, ctx.Err()
	}

	if o.err == nil {
		if s.usable(o.next, s.clk.Now()) {
			return s.pick(o.next), false, nil
		}
		reason := "the refresh response had no new, valid token"
		if !s.useAccessToken {
			reason = "the refresh response had no new ID token (OpenID Connect Core §12.2)"
		}
		return tokensource.Token{}, true, &loginNeeded{reason: reason}
	}
	if isInvalidGrant(o.err) {
		return tokensource.Token{}, true, &loginNeeded{reason: "the refresh token was rejected (expired or revoked)", err: o.err}
	}
	// The identity provider may be down: keep serving the current token
	// while it has not expired (static stability).
	if cur := s.pick(cand); cur.Value != "" && !cur.Expiry.IsZero() && s.clk.Now().Before(cur.Expiry) {
		s.log.Warn("deviceflow: refresh failed; serving the current token until it expires",
			"issuer", s.issuer, "expiry", cur.Expiry, "err", o.err)
		s.setCurrent(cand)
		return cur, false, nil
	}
	return tokensource.Token{}, false, o.err
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
