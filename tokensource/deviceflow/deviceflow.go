// Package deviceflow is a [tokensource.Source] for people at a terminal. It
// signs the user in once with the OAuth 2.0 device authorization grant (RFC
// 8628) of an OpenID Connect issuer, keeps the tokens in a [TokenStore], and
// renews the ID token (or a JWT access token, with [Options] UseAccessToken)
// silently with the refresh token, in this process and the next ones.
//
// Tokens never appear in errors, logs or the fmt output of this package's
// types, even when the identity provider echoes them.
package deviceflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/internal/flight"
	"github.com/awsoidc/awsoidc/internal/redact"
	"github.com/awsoidc/awsoidc/tokensource"
)

// Source is a [tokensource.Source] backed by a device-flow login. Create it
// with [New].
//
// Token serves the token held in memory while it is valid, with no lock
// and no I/O. Otherwise one renewal at a time (per Source) runs for all its
// callers: under the [TokenStore] lock of its [StoreKey], which excludes
// other Sources and other processes, it re-loads the stored tokens (another
// process may have renewed them already), else refreshes with the refresh
// token and saves the result before it unlocks, so that a rotated refresh
// token is never lost. Each caller waits for the renewal until its own ctx
// is done. The renewal itself runs on, bounded by two minutes, when every
// caller has given up: an identity provider that rotates refresh tokens
// has spent the old one once the request is sent.
//
// Device logins run one at a time in the process, whatever the number of
// Sources, so that the user never sees two prompts at once; across
// processes, the [TokenStore] lock of the key + " login" serializes the
// logins of one key.
//
// Every URL the Source uses must be https, or plain http on a loopback host
// (for tests and local identity providers). Every error and log line built
// from what the identity provider answers has the secrets the Source holds
// (the client secret, the tokens, the device code) replaced by
// "[REDACTED]".
//
// A Source is safe for concurrent use.
type Source struct {
	issuer, clientID string
	secret           redact.Secret
	scopes           []string
	authParams       url.Values
	authStyle        oauth2.AuthStyle
	useAccessToken   bool
	interactive      bool
	margin           time.Duration
	store            TokenStore
	key              string
	prompt           Prompter
	http             *http.Client
	clk              clock.Clock // the wall clock; tests set another through internal/testhook
	log              *slog.Logger
	pollBackoff      backoff.Policy // waits after failed polls
	retryBackoff     backoff.Policy // waits after failed refreshes

	// renewals runs one silent renewal at a time (lock, load, refresh,
	// save) for the callers of Token, detached from their ctx.
	renewals flight.Group[tokensource.Token]

	mu        sync.Mutex       // guards the fields below; never held across I/O
	ep        *oauth2.Endpoint // discovered endpoints, nil until discovery succeeds
	revokeURL string           // discovered revocation_endpoint (RFC 7009), or empty
	held      []redact.Secret  // secret values to scrub from remote text (see hold)
	cur       *Tokens          // the tokens last loaded or obtained
	unsaved   bool             // cur could not be saved: prefer it to the store's
	failures  int              // refreshes failed in a row (transient errors)
	retryAt   time.Time        // no refresh before this while cur has not expired
}

// discardLogger is the logger used when none is given.
var discardLogger = slog.New(slog.DiscardHandler)

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discardLogger
	}
	return l
}

// New returns a [Source] that signs in to issuer as the OAuth 2.0 client
// clientID. It checks its arguments and options, and makes no network call
// and no directory: the issuer's endpoints are discovered from its
// /.well-known/openid-configuration on first use.
//
// issuer must be an https URL (plain http only on a loopback host, for
// tests), exactly as the issuer writes it in its "iss" claim. clientID must
// not be empty.
func New(issuer, clientID string, optFns ...func(*Options)) (*Source, error) {
	if err := validateIssuer(issuer); err != nil {
		return nil, err
	}
	if strings.TrimSpace(clientID) == "" {
		return nil, &ValidationError{Field: "clientID", Rule: "must not be empty"}
	}
	if sanitize(clientID, len(clientID)) != clientID {
		return nil, &ValidationError{Field: "clientID", Rule: "must not contain control characters"}
	}
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if err := validateOptions(&o); err != nil {
		return nil, err
	}
	s := &Source{
		issuer:         issuer,
		clientID:       clientID,
		secret:         redact.New(o.ClientSecret.reveal()),
		scopes:         o.Scopes,
		authParams:     o.AuthParams,
		authStyle:      o.AuthStyle,
		useAccessToken: o.UseAccessToken,
		interactive:    o.Interactive,
		margin:         o.ExpiryMargin,
		store:          o.Store,
		key:            storeKey(issuer, clientID, &o),
		prompt:         o.Prompt,
		http:           guardClient(o.HTTPClient),
		clk:            clockutil.Real(),
		log:            orDiscard(o.Logger),
		pollBackoff:    backoff.Policy{Min: time.Second, Max: 30 * time.Second},
		retryBackoff:   backoff.Policy{Min: 5 * time.Second, Max: time.Minute},
	}
	s.renewals.Timeout = renewTimeout
	if s.prompt == nil {
		s.prompt = textPrompter{w: os.Stderr, now: func() time.Time { return s.clk.Now() }}
	}
	if s.store == nil {
		dir, err := defaultStoreDir()
		if err != nil {
			return nil, err
		}
		fs, err := NewFileStore(dir)
		if err != nil {
			return nil, err
		}
		s.store = fs
	}
	return s, nil
}

// String returns a description of s without any secret.
func (s *Source) String() string {
	return fmt.Sprintf("deviceflow.Source{Issuer:%s ClientID:%s UseAccessToken:%t Interactive:%t}", s.issuer, s.clientID, s.useAccessToken, s.interactive)
}

// Token implements [tokensource.Source]. It returns the stored token while
// it is valid for longer than the expiry margin, else renews it with the
// refresh token, else (when [Options] Interactive is set) starts a device
// login and waits for the user, else returns an error matching
// [ErrLoginRequired].
//
// When a refresh fails for a reason other than a rejected refresh token
// (the identity provider is down) and the current token has not expired
// yet, Token returns the current token and logs a warning.
func (s *Source) Token(ctx context.Context) (tokensource.Token, error) {
	if t, ok := s.fresh(); ok {
		return t, nil
	}
	tok, err := s.renewals.Do(ctx, s.renew)
	var ln *loginNeeded
	if !errors.As(err, &ln) {
		return tok, err
	}
	if !s.interactive {
		return tokensource.Token{}, s.loginRequired(ln.reason, ln.err)
	}
	t, err := s.login(ctx, false, ln.reason)
	if t == nil {
		return tokensource.Token{}, err
	}
	if err != nil { // the caller gets its token all the same
		s.log.Error("deviceflow: cannot save tokens; they are kept in memory only", "issuer", s.issuer, "err", err)
	}
	return s.pick(t), nil
}

// Login starts a device login now, whatever tokens are stored and whatever
// [Options] Interactive says, waits for the user to approve it (RFC 8628
// §3.4, §3.5) and stores the tokens. It returns a [*TokenError] matching
// [ErrAccessDenied] or [ErrExpiredToken] when the user denies the request or
// lets the code expire, and ctx's error when ctx ends first, which ends the
// login. When the tokens cannot be saved, Login returns the store's error,
// and the Source still uses the new tokens.
//
// The [TokenStore] lock is not held while the user logs in, so other
// processes keep renewing their tokens meanwhile; it is taken again to save.
// The new tokens replace whatever another process saved during the login:
// the user has just logged in explicitly. Another device login of the same
// key, in this process or another, waits for this one to end.
func (s *Source) Login(ctx context.Context) error {
	_, err := s.login(ctx, true, "Login was called")
	return err
}

// Logout forgets the tokens of the Source's [StoreKey]: it deletes them
// from the [TokenStore] and from memory. Logins of the same issuer and
// client with other scopes or AuthParams have other keys, and stay.
//
// Then, when the issuer's discovery document advertises a
// revocation_endpoint, Logout revokes the deleted refresh token there (RFC
// 7009 §2.1, token_type_hint=refresh_token), or the access token when no
// refresh token was stored, authenticating the client as at the token
// endpoint. The request goes through the same HTTP client as the device
// flow (https or loopback http only, response body capped at 1 MiB), under
// ctx, after the store lock is released.
//
// Revocation is best effort: the local tokens are deleted first, whatever
// happens next. When discovery or revocation fails, Logout logs a warning
// (with a fingerprint of the token, never the token) and still returns nil,
// because the caller's request, forgetting the login here, succeeded; a
// revocation the identity provider missed cannot be retried anyway, as the
// token is gone. Logout returns an error only when the tokens could not be
// deleted (it still tries to revoke them then), or when ctx ends before it
// starts.
func (s *Source) Logout(ctx context.Context) error {
	gone, err := s.forget(ctx)
	if gone != nil {
		// Even when the delete failed: a revoked token left on disk is
		// harmless.
		s.revoke(ctx, gone)
	}
	return err
}

// forget deletes the stored tokens, under the store lock, and the tokens in
// memory. It returns the tokens it found, for revocation.
func (s *Source) forget(ctx context.Context) (*Tokens, error) {
	unlock, err := s.lockStore(ctx)
	if err != nil {
		return nil, err
	}
	defer s.unlockStore(unlock)
	gone, err := s.load(ctx)
	if err != nil {
		s.log.Warn("deviceflow: cannot read the stored tokens to revoke them", "issuer", s.issuer, "err", err)
	}
	s.mu.Lock()
	s.cur, s.unsaved = nil, false
	s.mu.Unlock()
	if err := s.store.Delete(ctx, s.key); err != nil {
		return gone, wrapStoreError("delete", err)
	}
	return gone, nil
}

// fresh returns the token held in memory when it is valid beyond the margin.
//
// After a refresh failed for a transient reason, it also returns the token
// while it has not expired and the retry backoff has not passed, so that an
// unreachable identity provider does not cost every caller a request.
func (s *Source) fresh() (tokensource.Token, bool) {
	s.mu.Lock()
	cur, retryAt := s.cur, s.retryAt
	s.mu.Unlock()
	if cur == nil {
		return tokensource.Token{}, false
	}
	now := s.clk.Now()
	if s.usable(cur, now) {
		return s.pick(cur), true
	}
	if tok := s.pick(cur); now.Before(retryAt) && tok.Value != "" && now.Before(tok.Expiry) {
		return tok, true
	}
	return tokensource.Token{}, false
}

// pick returns the token of t that goes to STS.
func (s *Source) pick(t *Tokens) tokensource.Token {
	if s.useAccessToken {
		return tokensource.Token{Value: t.AccessToken, Expiry: t.AccessTokenExpiry}
	}
	return tokensource.Token{Value: t.IDToken, Expiry: t.IDTokenExpiry}
}

// usable reports whether the STS token of t may be served at now.
func (s *Source) usable(t *Tokens, now time.Time) bool {
	tok := s.pick(t)
	return usable(tok.Value, tok.Expiry, t.Obtained, now, s.margin)
}

// usable reports whether a token with the given expiry, obtained at
// obtained, may be served at now: it must be valid for longer than margin,
// which is clamped to half the token's lifetime so that a short-lived token
// is still used. A token of unknown expiry is served for [unknownLifetime]
// after it was obtained.
func usable(value string, expiry, obtained, now time.Time, margin time.Duration) bool {
	if value == "" {
		return false
	}
	if expiry.IsZero() {
		return !obtained.IsZero() && !now.Before(obtained) && now.Before(obtained.Add(unknownLifetime))
	}
	if !obtained.IsZero() && obtained.Before(expiry) {
		if half := expiry.Sub(obtained) / 2; half < margin {
			margin = half
		}
	}
	return now.Before(expiry.Add(-margin))
}

// lockStore takes the [TokenStore] lock of the Source's key.
func (s *Source) lockStore(ctx context.Context) (func() error, error) {
	return s.lockKey(ctx, s.key)
}

// lockKey takes the [TokenStore] lock of key. A ctx error is returned as
// is, any other as a [*StoreError].
func (s *Source) lockKey(ctx context.Context, key string) (func() error, error) {
	unlock, err := s.store.Lock(ctx, key)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, err
		}
		return nil, wrapStoreError("lock", err)
	}
	return unlock, nil
}

func (s *Source) unlockStore(unlock func() error) {
	if err := unlock(); err != nil {
		s.log.Warn("deviceflow: cannot unlock the token store", "err", err)
	}
}

// load returns the stored tokens of the issuer and client, or nil. Tokens
// this Source could not save take precedence over older stored ones.
func (s *Source) load(ctx context.Context) (*Tokens, error) {
	stored, ok, err := s.store.Load(ctx, s.key)
	if err != nil {
		return nil, wrapStoreError("load", err)
	}
	if ok {
		s.holdTokens(stored)
	}
	if ok && (stored.Issuer != s.issuer || stored.ClientID != s.clientID) {
		s.log.Warn("deviceflow: ignoring stored tokens of another issuer or client", "issuer", s.issuer, "client_id", s.clientID)
		ok = false
	}
	s.mu.Lock()
	mem, unsaved := s.cur, s.unsaved
	s.mu.Unlock()
	if unsaved && mem != nil && (!ok || !stored.Obtained.After(mem.Obtained)) {
		return mem, nil
	}
	if !ok {
		return nil, nil
	}
	return stored, nil
}

// save stores t and makes it current. When the store fails, t is still
// current and is preferred to the store's copy until a save succeeds.
func (s *Source) save(ctx context.Context, t *Tokens) error {
	err := s.store.Save(ctx, s.key, t)
	s.mu.Lock()
	s.cur, s.unsaved = t, err != nil
	s.mu.Unlock()
	if err != nil {
		return wrapStoreError("save", err)
	}
	return nil
}

// saveQuietly is save for [Source.Token]: the caller gets its token even
// when the store fails, and the failure is logged.
func (s *Source) saveQuietly(ctx context.Context, t *Tokens) {
	if err := s.save(ctx, t); err != nil {
		s.log.Error("deviceflow: cannot save tokens; they are kept in memory only", "issuer", s.issuer, "err", err)
	}
}

// setCurrent makes t current: tokens just loaded by [Source.load], or nil.
// When t is already current (load preferred the unsaved tokens in memory),
// it stays unsaved, so that a rotated refresh token that only memory holds
// is not traded for the spent one in the store.
func (s *Source) setCurrent(t *Tokens) {
	s.mu.Lock()
	if t != s.cur {
		s.cur, s.unsaved = t, false
	}
	s.mu.Unlock()
}

// oauthConfig returns the x/oauth2 configuration of the client.
func (s *Source) oauthConfig(ep oauth2.Endpoint) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     s.clientID,
		ClientSecret: s.secret.Reveal(),
		Endpoint:     ep,
		Scopes:       s.scopes,
	}
}

// httpContext returns ctx carrying the guarded HTTP client, for go-oidc and
// x/oauth2 alike.
func (s *Source) httpContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, s.http)
}
