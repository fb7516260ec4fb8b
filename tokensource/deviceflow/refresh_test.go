package deviceflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/internal/redact"
)

// seed stores tokens whose ID token expires at exp, with a refresh token
// the IdP accepts, and returns them.
func seed(t *testing.T, idp *fakeIdP, store TokenStore, exp, obtained time.Time) *Tokens {
	t.Helper()
	idp.mu.Lock()
	idp.seq++
	rt := fmt.Sprintf("refresh-token-seed-%d", idp.seq)
	idp.refresh[rt] = true
	idp.mu.Unlock()
	tok := &Tokens{
		Issuer: idp.issuer(), ClientID: testClientID,
		IDToken: idToken(idp.issuer(), "user-1", exp), IDTokenExpiry: exp,
		AccessToken: "seed-access", RefreshToken: rt, Obtained: obtained,
	}
	if err := store.Save(context.Background(), StoreKey(idp.issuer(), testClientID), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestServesStoredToken(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(time.Hour), t0)
	tok, err := src.Token(testCtx(t))
	if err != nil || tok.Value != seeded.IDToken {
		t.Fatalf("Token() = %v, %v", tok, err)
	}
	if n := idp.count("discovery"); n != 0 {
		t.Errorf("a valid stored token needs no discovery; got %d requests", n)
	}
}

func TestSilentRefresh(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(30*time.Second), t0.Add(-time.Hour)) // within the 1 min margin
	ctx := testCtx(t)
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value == seeded.IDToken || !tok.Expiry.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Token() = %v: want a refreshed ID token", tok)
	}
	stored, _, _ := store.Load(ctx, src.key)
	if stored.RefreshToken == seeded.RefreshToken || stored.IDToken != tok.Value {
		t.Fatalf("the rotated refresh token was not stored: %v", stored)
	}
	idp.mu.Lock()
	form := idp.forms[len(idp.forms)-1]
	idp.mu.Unlock()
	if form.Get("refresh_token") != seeded.RefreshToken || form.Get("client_id") != testClientID {
		t.Errorf("refresh form = %v", form)
	}

	// Without rotation the old refresh token is kept.
	idp.set(func(i *fakeIdP) { i.rotate = false; i.noRefreshToken = true })
	clk.Advance(time.Hour)
	tok2, err := src.Token(ctx)
	if err != nil || tok2.Value == tok.Value {
		t.Fatalf("second refresh: %v, %v", tok2, err)
	}
	stored2, _, _ := store.Load(ctx, src.key)
	if stored2.RefreshToken != stored.RefreshToken {
		t.Error("the unrotated refresh token was lost")
	}
}

func TestRefreshWithoutNewIDToken(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	idp.set(func(i *fakeIdP) { i.noIDTokenOnRefresh = true })
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(-time.Second), t0.Add(-time.Hour))
	_, err := src.Token(testCtx(t))
	if !errors.Is(err, ErrLoginRequired) || !strings.Contains(err.Error(), "ID token") {
		t.Fatalf("err = %v", err)
	}
	stored, _, _ := store.Load(context.Background(), src.key)
	if stored.RefreshToken == seeded.RefreshToken || stored.RefreshToken == "" {
		t.Error("the rotated refresh token must be saved even without an ID token")
	}
}

func TestRevokedRefreshTokenNotInteractive(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(-time.Minute), t0.Add(-time.Hour))
	idp.set(func(i *fakeIdP) { delete(i.refresh, seeded.RefreshToken) }) // revoked
	ctx := testCtx(t)
	_, err := src.Token(ctx)
	var te *TokenError
	if !errors.Is(err, ErrLoginRequired) || !errors.As(err, &te) || te.ErrorCode != "invalid_grant" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "login required for issuer "+idp.issuer()) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("message = %q", err)
	}
	if strings.Contains(err.Error(), seeded.RefreshToken) {
		t.Error("the message leaks the refresh token")
	}
	stored, ok, _ := store.Load(ctx, src.key)
	if !ok || stored.RefreshToken != "" {
		t.Errorf("the rejected refresh token should be dropped from the store: %v", stored)
	}
	// No second refresh attempt with the same dead token.
	calls := idp.count("refresh_token")
	if _, err := src.Token(ctx); !errors.Is(err, ErrLoginRequired) {
		t.Fatal(err)
	}
	if idp.count("refresh_token") != calls {
		t.Error("retried a rejected refresh token")
	}
}

func TestRevokedRefreshTokenInteractive(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, rec, store := newTestSource(t, idp, clk)
	seeded := seed(t, idp, store, t0.Add(-time.Minute), t0.Add(-time.Hour))
	idp.set(func(i *fakeIdP) { delete(i.refresh, seeded.RefreshToken) })
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, clk)
	idp.approve(p.UserCode)
	fire(t, clk)
	if r := await(t, res); r.err != nil {
		t.Fatal(r.err)
	}
	if idp.count("refresh_token") != 1 || idp.count("device_authorization") != 1 {
		t.Errorf("calls = %v", idp.calls)
	}
}

func TestRefreshFailureServesCurrentToken(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(30*time.Second), t0.Add(-time.Hour))
	idp.set(func(i *fakeIdP) { i.faults = []fault{{status: 503}, {status: 503}} })
	src.retryBackoff.Rand = func() float64 { return 0.999 }
	ctx := testCtx(t)
	tok, err := src.Token(ctx)
	if err != nil || tok.Value != seeded.IDToken {
		t.Fatalf("Token() = %v, %v: want the still-valid token", tok, err)
	}
	// Within the retry backoff, no new request.
	clk.Advance(4 * time.Second)
	if tok, err := src.Token(ctx); err != nil || tok.Value != seeded.IDToken || idp.count("refresh_token") != 1 {
		t.Fatalf("Token() = %v, %v after %d refreshes: want the current token, no request", tok, err, idp.count("refresh_token"))
	}
	// Once it has expired, the error comes through.
	clk.Advance(time.Minute)
	_, err = src.Token(ctx)
	var te *TokenError
	if !errors.As(err, &te) || te.StatusCode != 503 || errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "<html>") {
		t.Errorf("the message quotes the body: %q", err)
	}
	// And the next call refreshes.
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCancelDuringRefreshKeepsRotatedToken cancels the caller while the
// refresh request is in flight: the identity provider has spent the old
// refresh token, so the response must still be saved.
func TestCancelDuringRefreshKeepsRotatedToken(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(-time.Minute), t0.Add(-time.Hour))
	hold := make(chan struct{})
	idp.set(func(i *fakeIdP) { i.refreshHold = hold })
	ctx, cancel := context.WithCancel(testCtx(t))
	res := tokenAsync(ctx, src)
	if err := idp.waitCalls(testCtx(t), "refresh_token", 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if r := await(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled at once", r.err)
	}
	close(hold)
	// The store lock is free once the detached refresh has saved.
	unlock, err := store.Lock(testCtx(t), src.key)
	if err != nil {
		t.Fatal(err)
	}
	_ = unlock()
	stored, _, _ := store.Load(testCtx(t), src.key)
	idp.mu.Lock()
	live := idp.refresh[stored.RefreshToken]
	idp.mu.Unlock()
	if stored.RefreshToken == seeded.RefreshToken || !live {
		t.Fatal("the rotated refresh token was lost with the cancelled caller")
	}
	// The next call is served from the store, with no refresh.
	if _, err := src.Token(testCtx(t)); err != nil || idp.count("refresh_token") != 1 {
		t.Fatalf("Token() = %v; refresh requests = %d", err, idp.count("refresh_token"))
	}
}

// TestConcurrentCallersShareRenewal: the callers of one Source that need a
// renewal share one refresh; one that gives up leaves at once, and the
// others get the token.
func TestConcurrentCallersShareRenewal(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seed(t, idp, store, t0.Add(-time.Minute), t0.Add(-time.Hour))
	hold := make(chan struct{})
	idp.set(func(i *fakeIdP) { i.refreshHold = hold })
	ctx := testCtx(t)
	first := tokenAsync(ctx, src)
	if err := idp.waitCalls(ctx, "refresh_token", 1); err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	leaver := tokenAsync(gone, src)
	var others []<-chan result
	for range 8 {
		others = append(others, tokenAsync(ctx, src))
	}
	cancel()
	if r := await(t, leaver); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v, want context.Canceled", r.err)
	}
	close(hold)
	want := await(t, first)
	if want.err != nil {
		t.Fatal(want.err)
	}
	for _, res := range others {
		if r := await(t, res); r.err != nil || r.tok != want.tok {
			t.Fatalf("a waiter got %v, %v; want the renewal's token", r.tok, r.err)
		}
	}
	if n := idp.count("refresh_token"); n != 1 {
		t.Fatalf("refresh requests = %d, want 1", n)
	}
}

// TestConcurrentRefreshSharedStore runs two Sources, as two processes
// would, on one FileStore directory against an IdP with strict refresh
// token rotation: one refresh only, and no refresh token is lost
// (aws/aws-cli#10628).
func TestConcurrentRefreshSharedStore(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	dir := t.TempDir() + "/tokens"
	newSrc := func() *Source {
		fs, err := NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		src, _, _ := newTestSource(t, idp, clk, func(o *Options) { o.Store = fs; o.Interactive = false })
		return src
	}
	a, b := newSrc(), newSrc()
	seeded := seed(t, idp, a.store, t0.Add(-time.Minute), t0.Add(-time.Hour))
	hold := make(chan struct{})
	idp.set(func(i *fakeIdP) { i.refreshHold = hold })

	ctx := testCtx(t)
	ra := tokenAsync(ctx, a)
	rb := tokenAsync(ctx, b)
	// One of them refreshes while the other waits for the store lock.
	if err := idp.waitCalls(ctx, "refresh_token", 1); err != nil {
		t.Fatal(err)
	}
	close(hold)
	r1, r2 := await(t, ra), await(t, rb)
	if r1.err != nil || r2.err != nil {
		t.Fatalf("errors: %v, %v", r1.err, r2.err)
	}
	if r1.tok != r2.tok {
		t.Error("the two sources got different tokens")
	}
	if n := idp.count("refresh_token"); n != 1 {
		t.Fatalf("refresh requests = %d, want 1", n)
	}
	stored, ok, err := a.store.Load(ctx, a.key)
	if err != nil || !ok || stored.RefreshToken == seeded.RefreshToken {
		t.Fatalf("stored = %v, %v, %v", stored, ok, err)
	}
	idp.mu.Lock()
	live := idp.refresh[stored.RefreshToken]
	idp.mu.Unlock()
	if !live {
		t.Fatal("the stored refresh token is not the live one")
	}

	// Later, a refreshes; b, with an expired token in memory, re-loads
	// under the lock and uses a's result instead of the dead refresh token.
	idp.set(func(i *fakeIdP) { i.refreshHold = nil })
	clk.Advance(2 * time.Hour)
	ta, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Token(ctx)
	if err != nil || tb.Value != ta.Value {
		t.Fatalf("b: %v, %v", tb, err)
	}
	if n := idp.count("refresh_token"); n != 2 {
		t.Fatalf("refresh requests = %d, want 2", n)
	}
}

// helperEnv makes the test binary run runHelperProcess instead of the
// tests: a second process of TestSubprocessRefresh.
const helperEnv = "DEVICEFLOW_TEST_HELPER"

// runHelperProcess is a process that calls Token once on a FileStore and
// prints the token's fingerprint.
func runHelperProcess() int {
	fs, err := NewFileStore(os.Getenv("DEVICEFLOW_TEST_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	src, err := New(os.Getenv("DEVICEFLOW_TEST_ISSUER"), testClientID, func(o *Options) {
		o.Store = fs
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := src.Token(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(redact.Fingerprint(tok.Value))
	return 0
}

// TestSubprocessRefresh starts several real processes (this test binary)
// that share one token file whose ID token has expired, against an IdP
// with strict refresh token rotation: exactly one refreshes, all print the
// same token, and the stored refresh token is the live one.
func TestSubprocessRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	idp := newFakeIdP(t, clockutil.Real())
	dir := t.TempDir() + "/tokens"
	fs, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	seed(t, idp, fs, now.Add(-time.Minute), now.Add(-time.Hour))

	const procs = 4
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		outs []string
	)
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=1", "DEVICEFLOW_TEST_DIR="+dir, "DEVICEFLOW_TEST_ISSUER="+idp.issuer())
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("helper: %v: %s", err, stderr.String())
				return
			}
			mu.Lock()
			outs = append(outs, strings.TrimSpace(stdout.String()))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, o := range outs[1:] {
		if o != outs[0] || !strings.HasPrefix(o, "sha256:") {
			t.Fatalf("processes got different tokens: %q", outs)
		}
	}
	if n := idp.count("refresh_token"); n != 1 {
		t.Fatalf("refresh requests = %d, want 1", n)
	}
	stored, ok, err := fs.Load(context.Background(), StoreKey(idp.issuer(), testClientID))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	idp.mu.Lock()
	live := idp.refresh[stored.RefreshToken]
	idp.mu.Unlock()
	if !live || redact.Fingerprint(stored.IDToken) != outs[0] {
		t.Fatal("the stored tokens are not the ones issued")
	}
}

// TestCancelDuringFailedRefreshBacksOff cancels the caller while a refresh
// is in flight, and the refresh then fails for a transient reason: the
// retry backoff must hold all the same, so that the next caller is served
// the still-valid token without a new request.
func TestCancelDuringFailedRefreshBacksOff(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	src, _, store := newTestSource(t, idp, clk, func(o *Options) { o.Interactive = false })
	seeded := seed(t, idp, store, t0.Add(2*time.Hour), t0)
	src.retryBackoff.Rand = func() float64 { return 0.999 }
	if _, err := src.Token(testCtx(t)); err != nil { // in memory now
		t.Fatal(err)
	}
	clk.Advance(2*time.Hour - 30*time.Second) // within the margin
	hold := make(chan struct{})
	idp.set(func(i *fakeIdP) { i.refreshHold = hold; i.faults = []fault{{status: 503}} })
	ctx, cancel := context.WithCancel(testCtx(t))
	res := tokenAsync(ctx, src)
	if err := idp.waitCalls(testCtx(t), "refresh_token", 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if r := await(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	close(hold)
	// The store lock is free once the detached refresh has ended.
	unlock, err := store.Lock(testCtx(t), src.key)
	if err != nil {
		t.Fatal(err)
	}
	_ = unlock()
	tok, err := src.Token(testCtx(t))
	if err != nil || tok.Value != seeded.IDToken {
		t.Fatalf("Token() = %v, %v; want the current token", tok, err)
	}
	if n := idp.count("refresh_token"); n != 1 {
		t.Errorf("refresh requests = %d, want 1: the failure of the abandoned refresh set no backoff", n)
	}
}

// brokenStore is a memStore whose Lock or Load fails while lockErr or
// loadErr is set, and that counts the calls of Lock.
type brokenStore struct {
	*memStore
	mu               sync.Mutex
	lockErr, loadErr error
	locks            int
}

func (b *brokenStore) set(lockErr, loadErr error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lockErr, b.loadErr = lockErr, loadErr
}

func (b *brokenStore) Lock(ctx context.Context, key string) (func() error, error) {
	b.mu.Lock()
	err := b.lockErr
	b.locks++
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return b.memStore.Lock(ctx, key)
}

func (b *brokenStore) Load(ctx context.Context, key string) (*Tokens, bool, error) {
	b.mu.Lock()
	err := b.loadErr
	b.mu.Unlock()
	if err != nil {
		return nil, false, err
	}
	return b.memStore.Load(ctx, key)
}

func (b *brokenStore) lockCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.locks
}

// TestStoreFailureServesCurrentToken breaks the store's Lock or Load while
// the token in memory is within its margin but valid: Token serves it,
// logs a warning and backs off; once it expires, the error comes through.
func TestStoreFailureServesCurrentToken(t *testing.T) {
	for _, which := range []string{"lock", "load"} {
		t.Run(which, func(t *testing.T) {
			clk := clock.NewFake(t0)
			idp := newFakeIdP(t, clk)
			store := &brokenStore{memStore: newMemStore()}
			var logs syncBuffer
			src, _, _ := newTestSource(t, idp, clk, func(o *Options) {
				o.Store = store
				o.Interactive = false
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			src.retryBackoff.Rand = func() float64 { return 0.999 }
			seeded := seed(t, idp, store.memStore, t0.Add(2*time.Hour), t0)
			ctx := testCtx(t)
			if _, err := src.Token(ctx); err != nil {
				t.Fatal(err)
			}
			clk.Advance(2*time.Hour - 30*time.Second)
			broken := errors.New("permission denied")
			if which == "lock" {
				store.set(broken, nil)
			} else {
				store.set(nil, broken)
			}
			tok, err := src.Token(ctx)
			if err != nil || tok.Value != seeded.IDToken {
				t.Fatalf("Token() = %v, %v; want the still-valid token", tok, err)
			}
			if !strings.Contains(logs.String(), "token store failed") || !strings.Contains(logs.String(), "permission denied") {
				t.Errorf("no warning logged:\n%s", logs.String())
			}
			// Within the backoff, the store is left alone.
			locks := store.lockCalls()
			clk.Advance(time.Second)
			if tok, err := src.Token(ctx); err != nil || tok.Value != seeded.IDToken || store.lockCalls() != locks {
				t.Fatalf("Token() = %v, %v after %d more locks; want the current token, no lock", tok, err, store.lockCalls()-locks)
			}
			// Once it has expired, the store's error comes through.
			clk.Advance(time.Minute)
			var se *storeError
			if _, err := src.Token(ctx); !errors.As(err, &se) || se.op != which {
				t.Fatalf("after expiry: err = %v, want a store error of %s", err, which)
			}
			if idp.count("refresh_token") != 0 {
				t.Error("refreshed without the store")
			}
		})
	}
}
