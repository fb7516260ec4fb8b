package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
)

// TestStoreKey checks that StoreKey keys credentials by the identity of the
// token sent next, and that the next Retrieve sends that very token even
// when the source has moved on to another identity's.
func TestStoreKey(t *testing.T) {
	s := newStack(t, ststest.Role{})
	jobA := s.srv.MintToken(ststest.Claims{Subject: "job-a"})
	jobARotated := s.srv.MintToken(ststest.Claims{Subject: "job-a", Extra: map[string]any{"jti": "rotated"}})
	jobB := s.srv.MintToken(ststest.Claims{Subject: "job-b"})
	src := newTokens(jobA, jobB, jobARotated, jobB)
	p := s.provider(t, src)
	ctx := context.Background()

	keyA, err := p.StoreKey(ctx) // reads job A's token
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(keyA, p.CacheKey()+" ") {
		t.Errorf("StoreKey %q does not extend CacheKey %q", keyA, p.CacheKey())
	}
	// The source has moved on to job B's token; Retrieve sends job A's.
	if _, err := p.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.rec.form(0).Get("WebIdentityToken"); got != jobA {
		t.Errorf("Retrieve after StoreKey sent another token than the one keyed")
	}
	if src.calls() != 1 {
		t.Errorf("token reads = %d, want 1: Retrieve must reuse StoreKey's token", src.calls())
	}
	// Job B's token keys differently; job A's rotated token keys the same.
	keyB, err := p.StoreKey(ctx)
	if err != nil || keyB == keyA {
		t.Errorf("job B's key = %q, %v; want another key than job A's", keyB, err)
	}
	if keyRotated, err := p.StoreKey(ctx); err != nil || keyRotated != keyA {
		t.Errorf("rotated job A key = %q, %v; want job A's %q", keyRotated, err, keyA)
	}
}

// TestStoreKeyFreshTokenOfAnotherIdentity: STS rejects the keyed token as
// expired, and the fresh token the source then gives is another
// identity's: the retrieval fails rather than return credentials that
// would be stored under the first identity's key.
func TestStoreKeyFreshTokenOfAnotherIdentity(t *testing.T) {
	s := newStack(t, ststest.Role{})
	expiredA := s.srv.MintToken(ststest.Claims{Subject: "job-a", Expiry: time.Now().Add(-time.Minute), IssuedAt: time.Now().Add(-time.Hour)})
	jobB := s.srv.MintToken(ststest.Claims{Subject: "job-b"})
	p := s.provider(t, newTokens(expiredA, jobB))
	if _, err := p.StoreKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := p.Retrieve(context.Background())
	var re *provider.RetrieveError
	if !errors.As(err, &re) || re.Class != provider.ClassTokenSource || !strings.Contains(err.Error(), "another identity") {
		t.Fatalf("Retrieve = %v, want a token-source error naming another identity", err)
	}
	if n := s.srv.Calls(assume); n != 1 {
		t.Errorf("STS requests = %d, want 1: job B's token must not be sent", n)
	}
}
