package tokensource_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/testhook"
	"github.com/awsoidc/awsoidc/tokensource"
)

// countingSource returns "token-N" for its Nth call, expiring after
// lifetime (zero: no expiry), or err when set.
type countingSource struct {
	clk      clock.Clock
	lifetime time.Duration
	calls    atomic.Int32
	err      atomic.Pointer[error]
}

func (s *countingSource) Token(ctx context.Context) (tokensource.Token, error) {
	n := s.calls.Add(1)
	if e := s.err.Load(); e != nil {
		return tokensource.Token{}, *e
	}
	tok := tokensource.Token{Value: "token-" + strconv.Itoa(int(n))}
	if s.lifetime > 0 {
		tok.Expiry = s.clk.Now().Add(s.lifetime)
	}
	return tok, nil
}

func (s *countingSource) fail(err error) { s.err.Store(&err) }

func TestReuse(t *testing.T) {
	errIdP := errors.New("identity provider unavailable")
	type step struct {
		at      time.Duration // since t0
		fail    bool          // the source fails from this step on
		want    string        // token value; "" for an error
		wantErr error
		calls   int32 // source calls so far
	}
	tests := []struct {
		name     string
		lifetime time.Duration
		opts     func(*tokensource.ReuseOptions)
		steps    []step
	}{
		{
			name: "reused until the margin", lifetime: 10 * time.Minute,
			steps: []step{
				{at: 0, want: "token-1", calls: 1},
				{at: 5 * time.Minute, want: "token-1", calls: 1},
				{at: 9*time.Minute - time.Nanosecond, want: "token-1", calls: 1},
				{at: 9 * time.Minute, want: "token-2", calls: 2},
				{at: 17 * time.Minute, want: "token-2", calls: 2},
				{at: 18 * time.Minute, want: "token-3", calls: 3},
			},
		},
		{
			name: "custom margin", lifetime: 10 * time.Minute,
			opts: func(o *tokensource.ReuseOptions) { o.Margin = 5 * time.Minute },
			steps: []step{
				{at: 0, want: "token-1", calls: 1},
				{at: 5*time.Minute - 1, want: "token-1", calls: 1},
				{at: 5 * time.Minute, want: "token-2", calls: 2},
			},
		},
		{
			name: "shorter than the margin: never kept", lifetime: 30 * time.Second,
			steps: []step{
				{at: 0, want: "token-1", calls: 1},
				{at: 0, want: "token-2", calls: 2},
			},
		},
		{
			name: "no expiry: not reused by default",
			steps: []step{
				{at: 0, want: "token-1", calls: 1},
				{at: 0, want: "token-2", calls: 2},
			},
		},
		{
			name: "no expiry: reused for MaxAge",
			opts: func(o *tokensource.ReuseOptions) { o.MaxAge = 30 * time.Second },
			steps: []step{
				{at: 0, want: "token-1", calls: 1},
				{at: 29 * time.Second, want: "token-1", calls: 1},
				{at: 30 * time.Second, want: "token-2", calls: 2},
			},
		},
		{
			name: "failure with a valid token held: the token", lifetime: 10 * time.Minute,
			steps: []step{
				{at: 0, want: "token-1", calls: 1},
				{at: 9 * time.Minute, fail: true, want: "token-1", calls: 2},
				{at: 10*time.Minute - 1, fail: true, want: "token-1", calls: 3},
				{at: 10 * time.Minute, fail: true, wantErr: errIdP, calls: 4},
			},
		},
		{
			name: "failure with nothing held: the error", lifetime: 10 * time.Minute,
			steps: []step{{at: 0, fail: true, wantErr: errIdP, calls: 1}},
		},
		{
			name: "failure with a MaxAge token held: the error",
			opts: func(o *tokensource.ReuseOptions) { o.MaxAge = time.Minute },
			steps: []step{
				{at: 0, want: "token-1", calls: 1},
				{at: time.Minute, fail: true, wantErr: errIdP, calls: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := clock.NewFake(t0)
			src := &countingSource{clk: fake, lifetime: tt.lifetime}
			r := tokensource.Reuse(src, func(o *tokensource.ReuseOptions) {
				if tt.opts != nil {
					tt.opts(o)
				}
			})
			testhook.SetClock(r, fake)
			for i, s := range tt.steps {
				fake.Set(t0.Add(s.at))
				if s.fail {
					src.fail(errIdP)
				}
				tok, err := r.Token(context.Background())
				if tok.Value != s.want || !errors.Is(err, s.wantErr) || (err == nil) != (s.wantErr == nil) {
					t.Fatalf("step %d at +%v: Token() = %q, %v; want %q, %v", i, s.at, tok.Value, err, s.want, s.wantErr)
				}
				if got := src.calls.Load(); got != s.calls {
					t.Fatalf("step %d at +%v: %d source calls, want %d", i, s.at, got, s.calls)
				}
			}
		})
	}
}

// blockingSource counts its calls, reports each start on started and blocks
// until release is closed.
type blockingSource struct {
	calls   atomic.Int32
	started chan context.Context
	release chan struct{}
	tok     tokensource.Token
}

func newBlockingSource(tok tokensource.Token) *blockingSource {
	return &blockingSource{started: make(chan context.Context, 100), release: make(chan struct{}), tok: tok}
}

func (s *blockingSource) Token(ctx context.Context) (tokensource.Token, error) {
	s.calls.Add(1)
	s.started <- ctx
	select {
	case <-s.release:
		return s.tok, nil
	case <-ctx.Done():
		return tokensource.Token{}, ctx.Err()
	}
}

// waitingCtx reports, once, that Reuse has started to wait on it: Token
// calls ctx.Done() only in its select on the shared fetch (the fetch itself
// runs under context.WithoutCancel, which never calls it).
type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting func()
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(c.waiting)
	return c.Context.Done()
}

// TestReuseDupSuppress is singleflight's TestDoDupSuppress for Reuse: n
// callers all wait, at the same time, on one call to the source.
func TestReuseDupSuppress(t *testing.T) {
	const n = 10
	fake := clock.NewFake(t0)
	want := tokensource.Token{Value: jwtExp(t0.Add(time.Hour)), Expiry: t0.Add(time.Hour)}
	src := newBlockingSource(want)
	r := tokensource.Reuse(src)
	testhook.SetClock(r, fake)

	var waiting, wg sync.WaitGroup
	waiting.Add(n)
	results := make(chan result, n)
	for range n {
		ctx := &waitingCtx{Context: context.Background(), waiting: waiting.Done}
		wg.Go(func() {
			tok, err := r.Token(ctx)
			results <- result{tok, err}
		})
	}
	allWaiting := make(chan struct{})
	go func() { waiting.Wait(); close(allWaiting) }()
	<-src.started
	select {
	case <-allWaiting: // every caller waits on the one fetch in flight
	case <-src.started:
		t.Fatal("a second call to the source while the first was in flight")
	}
	close(src.release)
	wg.Wait()
	close(results)
	for res := range results {
		if res.err != nil || res.tok != want {
			t.Errorf("Token() = %v, %v; want %v", res.tok, res.err, want)
		}
	}
	if got := src.calls.Load(); got != 1 {
		t.Fatalf("%d source calls, want 1", got)
	}
}

// TestReuseCancellation: a caller that gives up returns at once with its
// ctx's error, and the shared fetch goes on, uncancelled, for the others.
func TestReuseCancellation(t *testing.T) {
	fake := clock.NewFake(t0)
	want := tokensource.Token{Value: "token", Expiry: t0.Add(time.Hour)}
	src := newBlockingSource(want)
	r := tokensource.Reuse(src)
	testhook.SetClock(r, fake)

	ctx, cancel := context.WithCancel(context.Background())
	first := tokenAsync(ctx, r)
	fetchCtx := <-src.started
	cancel()
	if res := <-first; !errors.Is(res.err, context.Canceled) || res.tok.Value != "" {
		t.Fatalf("cancelled Token() = %v, %v; want context.Canceled", res.tok, res.err)
	}
	if err := fetchCtx.Err(); err != nil {
		t.Fatalf("the shared fetch was cancelled with its first caller: %v", err)
	}

	second := tokenAsync(context.Background(), r) // joins the fetch in flight
	if _, err := r.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Token() with a done ctx = %v, want context.Canceled", err)
	}
	close(src.release)
	if res := <-second; res.err != nil || res.tok != want {
		t.Fatalf("Token() = %v, %v; want %v", res.tok, res.err, want)
	}
	if got := src.calls.Load(); got != 1 {
		t.Fatalf("%d source calls, want 1", got)
	}
}

// TestReuseFetchTimeout: the shared fetch ends after FetchTimeout even when
// its callers wait forever.
func TestReuseFetchTimeout(t *testing.T) {
	src := newBlockingSource(tokensource.Token{Value: "token"})
	r := tokensource.Reuse(src, func(o *tokensource.ReuseOptions) { o.FetchTimeout = time.Nanosecond })
	if _, err := r.Token(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token() = %v, want context.DeadlineExceeded", err)
	}
}

// TestReuseOneClock: the fetch's timeout runs on the clock that decides
// expiry, not on the wall clock.
func TestReuseOneClock(t *testing.T) {
	fake := clock.NewFake(t0)
	src := newBlockingSource(tokensource.Token{Value: "token"})
	r := tokensource.Reuse(src, func(o *tokensource.ReuseOptions) { o.FetchTimeout = time.Minute })
	testhook.SetClock(r, fake)
	done := tokenAsync(context.Background(), r)
	fetchCtx := <-src.started
	if _, ok := fetchCtx.Deadline(); ok {
		t.Error("the fetch has a wall-clock deadline")
	}
	fake.Advance(time.Minute - time.Nanosecond)
	select {
	case res := <-done:
		t.Fatalf("Token() = %v, %v before FetchTimeout on the clock", res.tok, res.err)
	default:
	}
	fake.Advance(time.Nanosecond)
	if res := <-done; !errors.Is(res.err, context.DeadlineExceeded) {
		t.Fatalf("Token() = %v, %v; want context.DeadlineExceeded", res.tok, res.err)
	}
}
