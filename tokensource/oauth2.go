package tokensource

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"
)

// OAuth2Options configures [FromOAuth2].
type OAuth2Options struct {
	// UseAccessToken sends the OAuth 2.0 access token instead of the OpenID
	// Connect ID token. Set it for identity providers whose access tokens
	// STS accepts (Login with Amazon, Facebook; see the provider's
	// ProviderID option) or whose access tokens are JWTs that a role trusts.
	UseAccessToken bool
}

// FromOAuth2 adapts an [oauth2.TokenSource] to a [Source]. By default the
// token is the OpenID Connect ID token that the token response carries in
// its "id_token" field (OpenID Connect Core 1.0 §3.1.3.3); when it is
// missing, Token returns an [*Error] naming "id_token" and wrapping
// [ErrEmpty]. With
// [OAuth2Options].UseAccessToken, the access token is used instead.
//
// The expiry is the token's JWT "exp" claim; for an access token that is not
// a JWT, the oauth2.Token's Expiry.
//
// oauth2.TokenSource.Token takes no context (golang/oauth2#388), so the
// caller's ctx is only checked before the call; the context that the
// TokenSource was built with governs its HTTP requests. Wrap ts in
// [oauth2.ReuseTokenSource] (as oauth2.Config.TokenSource does) to refresh
// only when needed.
func FromOAuth2(ts oauth2.TokenSource, optFns ...func(*OAuth2Options)) Source {
	var o OAuth2Options
	for _, fn := range optFns {
		fn(&o)
	}
	return &oauth2Source{ts: ts, opts: o}
}

type oauth2Source struct {
	ts   oauth2.TokenSource
	opts OAuth2Options
}

// Token gets a token from the oauth2.TokenSource.
func (s *oauth2Source) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, &Error{Source: "oauth2", Err: err}
	}
	t, err := s.ts.Token()
	if err != nil {
		return Token{}, &Error{Source: "oauth2", Err: err}
	}
	if t == nil {
		return Token{}, &Error{Source: "oauth2", Err: ErrEmpty}
	}
	if s.opts.UseAccessToken {
		v := trimToken(t.AccessToken)
		if v == "" {
			return Token{}, &Error{Source: "oauth2", Name: "access_token", Err: ErrEmpty}
		}
		tok := newToken(v)
		if tok.Expiry.IsZero() {
			tok.Expiry = t.Expiry
		}
		return tok, nil
	}
	id, _ := t.Extra("id_token").(string)
	if id = trimToken(id); id == "" {
		return Token{}, &Error{Source: "oauth2", Name: "id_token", Err: fmt.Errorf(
			"%w: the token response has no ID token; request the openid scope, check that the identity provider returns an ID token on refresh, or set OAuth2Options.UseAccessToken",
			ErrEmpty)}
	}
	return newToken(id), nil
}

// describe names the TokenSource's type only: its value may hold tokens.
func (s *oauth2Source) describe() string {
	return fmt.Sprintf("tokensource.FromOAuth2(%T)", s.ts)
}

// String describes the source by the TokenSource's type.
func (s *oauth2Source) String() string { return s.describe() }
