package deviceflow

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

// TestLoginDoesNotBlockRenewals runs a Login that waits for the user while
// another Source of the same key (another process) must refresh its token:
// the refresh goes through at once instead of waiting for the login to end.
// Once approved, the login's tokens replace the refreshed ones in the store.
func TestLoginDoesNotBlockRenewals(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	var logs syncBuffer
	login, rec, store := newTestSource(t, idp, clk, func(o *Options) {
		o.Interactive = false
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	other, _, _ := newTestSource(t, idp, clk, func(o *Options) { o.Store = store; o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(30*time.Second), t0.Add(-time.Hour)) // within the margin
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- login.Login(ctx) }()
	p := rec.next(t)
	waitTimer(t, clk) // polling, the user has not approved yet

	rctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a guard: the refresh needs no wait
	defer cancel()
	refreshed, err := other.Token(rctx)
	if err != nil || refreshed.Value == seeded.IDToken {
		t.Fatalf("renewal during another's login: %v, %v; want a refreshed token at once", refreshed, err)
	}

	idp.approve(p.UserCode)
	fire(t, clk)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stored, ok, _ := store.Load(ctx, login.key)
	if !ok || stored.IDToken == refreshed.Value || stored.IDToken == seeded.IDToken {
		t.Fatalf("stored = %v: want the login's tokens", stored)
	}
	if !strings.Contains(logs.String(), "replacing the tokens another process saved during the login") {
		t.Errorf("no note of the replaced tokens:\n%s", logs.String())
	}
	if tok, err := login.Token(ctx); err != nil || tok.Value != stored.IDToken {
		t.Errorf("Token after Login = %v, %v", tok, err)
	}
}

// lockSpy is a memStore that reports each key it is asked to lock.
type lockSpy struct {
	*memStore
	locks chan string
}

func (l *lockSpy) Lock(ctx context.Context, key string) (func() error, error) {
	select {
	case l.locks <- key:
	default:
	}
	return l.memStore.Lock(ctx, key)
}

// TestConcurrentLoginsPromptOnce starts a device login in one Source and,
// meanwhile, an interactive Token in another of the same key (another
// process) that has no tokens: the second waits for the first login instead
// of prompting too, and then uses its tokens.
func TestConcurrentLoginsPromptOnce(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	store := &lockSpy{memStore: newMemStore(), locks: make(chan string, 64)}
	first, rec, _ := newTestSource(t, idp, clk, func(o *Options) { o.Store = store })
	second, rec2, _ := newTestSource(t, idp, clk, func(o *Options) { o.Store = store })
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- first.Login(ctx) }()
	p := rec.next(t)
	waitTimer(t, clk)

	for len(store.locks) > 0 { // the first login's locks
		<-store.locks
	}
	res := tokenAsync(ctx, second)
	for key := range store.locks { // wait until the second asks for the login lock
		if key == second.key+loginLockSuffix {
			break
		}
	}
	idp.approve(p.UserCode)
	fire(t, clk)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r := await(t, res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	stored, _, _ := store.Load(ctx, first.key)
	if r.tok != stored.IDToken {
		t.Error("the second Source did not use the first one's login")
	}
	select {
	case p := <-rec2.ch:
		t.Errorf("the second Source prompted too: %+v", p)
	default:
	}
	if n := idp.count("device_authorization"); n != 1 {
		t.Errorf("device authorizations = %d, want 1", n)
	}
}
