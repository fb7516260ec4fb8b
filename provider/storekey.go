package provider

import (
	"context"
	"fmt"

	"github.com/awsoidc/awsoidc/internal/tokenid"
	"github.com/awsoidc/awsoidc/tokensource"
)

// StoreKey returns the key of the credentials this provider gets next, for
// a store shared by processes: [Provider.CacheKey] joined with the identity
// of the token it sends next (a hash of the token's iss, sub, aud, amr and
// session-tag claims when it is a JWT, else of the whole token). Use it as
// the cache's Options.StoreKeyFunc, as the root package's options do.
//
// StoreKey reads that token now and keeps it: the next Retrieve sends that
// very token first, so the credentials it returns belong to the identity
// the key names, even when the token file changes hands in between (the
// next CI job's token at the same path). If STS then asks for a fresh
// token, one of another identity is refused with a [RetrieveError] of
// class [ClassTokenSource].
//
// A rotated token of the same identity (the kubelet's) keeps the key; a
// token that is not a JWT with "iss" and "sub" changes it with its value.
// Since the key needs a token, a cache keyed this way asks the source
// before it reads the store: with a source that fetches over the network
// (a device-flow login), a process that starts while that source is down
// cannot load stored credentials either. Key such providers by a fixed
// [Options.SourceID] and [Provider.CacheKey] instead, and clear the store
// when the identity behind the source changes.
func (p *Provider) StoreKey(ctx context.Context) (string, error) {
	tok, err := p.src.Token(ctx)
	if err != nil {
		r := &retrieval{p: p}
		class := ClassTokenSource
		if ctx.Err() != nil {
			class = ClassCanceled
		}
		_, _, err = r.fail(class, "", fmt.Errorf("token source: %w", err))
		return "", err
	}
	p.nextMu.Lock()
	p.next = &tok
	p.nextMu.Unlock()
	return storeKey(p.CacheKey(), tokenid.Of(tok.Value)), nil
}

// storeKey joins a cache key and a token identity.
func storeKey(cacheKey, identity string) string { return cacheKey + " " + identity }

// nextToken returns the token to send: on a retrieval's first call the one
// StoreKey kept, if any, else a new one from the source. A later token (a
// fresh one after STS rejected the first) must have the identity the
// credentials were keyed by.
func (r *retrieval) nextToken(ctx context.Context) (tokensource.Token, error) {
	p := r.p
	if r.attempts == 0 && !r.refreshed {
		p.nextMu.Lock()
		kept := p.next
		p.next = nil
		p.nextMu.Unlock()
		if kept != nil {
			r.keyedBy = tokenid.Of(kept.Value)
			return *kept, nil
		}
	}
	tok, err := p.src.Token(ctx)
	if err != nil {
		return tokensource.Token{}, err
	}
	if r.keyedBy != "" && tokenid.Of(tok.Value) != r.keyedBy {
		return tokensource.Token{}, &tokenid.MismatchError{Source: fmt.Sprint(p.src)}
	}
	return tok, nil
}
