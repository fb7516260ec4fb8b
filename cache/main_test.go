package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.Isolate()
	if os.Getenv(helperEnv) != "" {
		// A subprocess of TestFileStoreProcesses: run only the helper, and
		// skip goleak, which would flag nothing but costs time.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// t0 is the start of fake time in most tests.
var t0 = time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC)

// testProvider is a scripted aws.CredentialsProvider: each call counts
// itself, may block on a gate, and then fails or mints new credentials that
// live for ttl.
type testProvider struct {
	clk   clock.Clock
	ttl   time.Duration // lifetime of the credentials it mints
	calls atomic.Int64

	mu     sync.Mutex    // guards the fields below; tests set called while no call runs
	fail   error         // when set, every call fails with it
	gate   chan struct{} // when set, calls block until it is closed (or ctx is done)
	called chan struct{} // when set, receives one value per call, before blocking
	ctxErr error         // ctx.Err() seen by the last call that left through ctx
}

func newTestProvider(clk clock.Clock, ttl time.Duration) *testProvider {
	return &testProvider{clk: clk, ttl: ttl}
}

// secretOf is the secret access key of the n-th credentials; tests search
// every formatted value and log for the "SECRET" marker.
func secretOf(n int64) string { return fmt.Sprintf("SECRET-%d-do-not-print", n) }

func (p *testProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	n := p.calls.Add(1)
	p.mu.Lock()
	fail, gate, called := p.fail, p.gate, p.called
	p.mu.Unlock()
	if called != nil {
		called <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			p.mu.Lock()
			p.ctxErr = ctx.Err()
			p.mu.Unlock()
			return aws.Credentials{}, fmt.Errorf("test provider: %w", ctx.Err())
		}
	}
	if fail != nil {
		return aws.Credentials{}, fail
	}
	return aws.Credentials{
		AccessKeyID:     fmt.Sprintf("AKID%d", n),
		SecretAccessKey: secretOf(n),
		SessionToken:    fmt.Sprintf("TOKEN-%d-do-not-print", n),
		Source:          "testProvider",
		CanExpire:       true,
		Expires:         p.clk.Now().Add(p.ttl),
	}, nil
}

func (p *testProvider) setFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = err
}

// block makes the next calls wait until the returned release is called.
func (p *testProvider) block() (release func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gate = gate
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.gate = nil
			p.mu.Unlock()
			close(gate)
		})
	}
}

// errSTSDown stands for any provider failure.
var errSTSDown = errors.New("test provider: STS is down")

// events collects RefreshEvents and lets a test wait for the next one. Its
// hook never blocks: it appends to a list, which grows as needed.
type events struct {
	mu   sync.Mutex // guards evs and read
	evs  []RefreshEvent
	read int // evs[:read] were returned by next
	sig  *signal
}

func newEvents() *events { return &events{sig: newSignal()} }

func (r *events) hook(ev RefreshEvent) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
	r.sig.notify()
}

// next waits for the next event, failing the test after a (generous)
// real-time limit, which only a bug reaches.
func (r *events) next(t *testing.T) RefreshEvent {
	t.Helper()
	var ev RefreshEvent
	waitFor(t, "a refresh event", r.sig, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.read == len(r.evs) {
			return false
		}
		ev = r.evs[r.read]
		r.read++
		return true
	})
	return ev
}

func (r *events) all() []RefreshEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RefreshEvent(nil), r.evs...)
}

// fullFigures reports whether AWSOIDC_FULL_FIGURES is set: the tests that
// print the figures of docs/performance.md then run them at full size (CI
// does), and otherwise at a size that keeps every assertion and takes a
// fraction of the time.
func fullFigures() bool { return os.Getenv("AWSOIDC_FULL_FIGURES") != "" }

// fixedRand returns a Rand that always returns v.
func fixedRand(v float64) func() float64 { return func() float64 { return v } }

// newTestCache returns a cache on clk in front of p, with events recorded,
// deterministic jitter (Rand 0: refresh at the start of the advisory
// window), and Close at the end of the test.
func newTestCache(t *testing.T, clk clock.Clock, p aws.CredentialsProvider, optFns ...func(*Options)) (*Cache, *events) {
	t.Helper()
	evs := newEvents()
	fns := append([]func(*Options){func(o *Options) {
		o.Clock = clk
		o.Rand = fixedRand(0)
		o.OnRefresh = evs.hook
	}}, optFns...)
	c := New(p, fns...)
	t.Cleanup(func() { _ = c.Close() })
	return c, evs
}

// mustRetrieve calls Retrieve with a generous real-time limit, which only a
// bug reaches, and fails the test on error. It calls t.Fatalf: call it from
// the test's goroutine only, and goRetrieve from others.
func mustRetrieve(t *testing.T, c *Cache) aws.Credentials {
	t.Helper()
	return (<-goRetrieve(c)).must(t)
}

// retrieval is the outcome of one Retrieve.
type retrieval struct {
	creds aws.Credentials
	err   error
}

// must returns the credentials, failing the test on error. Call it from the
// test's goroutine.
func (r retrieval) must(t *testing.T) aws.Credentials {
	t.Helper()
	if r.err != nil {
		t.Fatalf("Retrieve: %v", r.err)
	}
	return r.creds
}

// goRetrieve calls Retrieve in a goroutine of its own, with the real-time
// limit of mustRetrieve, and delivers the outcome on the returned channel,
// for the test's goroutine to check.
func goRetrieve(c *Cache) <-chan retrieval {
	ch := make(chan retrieval, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		creds, err := c.Retrieve(ctx)
		ch <- retrieval{creds, err}
	}()
	return ch
}

// signal is a broadcast that tests wait on instead of polling: notify wakes
// every goroutine that took the channel of changed before it.
type signal struct {
	mu sync.Mutex    // guards ch
	ch chan struct{} // closed by the next notify
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

// notify wakes the current waiters.
func (s *signal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// changed returns a channel closed by the next notify.
func (s *signal) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// watch makes c notify the returned signal whenever a caller starts or
// stops waiting for a refresh, and whenever a refresh ends.
func watch(c *Cache) *signal {
	s := newSignal()
	fn := s.notify
	c.in.onChange.Store(&fn)
	return s
}

// waitFor waits until cond holds, checking it at once and again after each
// notification of s, failing after a real-time limit that only a bug
// reaches. It never sleeps: cond must depend only on state whose changes s
// is notified of.
func waitFor(t *testing.T, what string, s *signal, cond func() bool) {
	t.Helper()
	limit := time.NewTimer(10 * time.Second)
	defer limit.Stop()
	for {
		ch := s.changed() // before cond: a change after it is not missed
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-limit.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// notifyClock is a clock.Fake that notifies sig whenever the code under
// test makes or stops a timer, so that a test can wait for a goroutine to
// go to sleep on the clock (waitForSleep) without polling.
type notifyClock struct {
	*clock.Fake
	sig *signal
}

func newNotifyClock(t time.Time) *notifyClock {
	return &notifyClock{Fake: clock.NewFake(t), sig: newSignal()}
}

func (c *notifyClock) NewTimer(d time.Duration) clock.Timer {
	t := notifyTimer{Timer: c.Fake.NewTimer(d), sig: c.sig}
	c.sig.notify()
	return t
}

type notifyTimer struct {
	clock.Timer
	sig *signal
}

func (t notifyTimer) Stop() bool {
	stopped := t.Timer.Stop()
	t.sig.notify()
	return stopped
}
