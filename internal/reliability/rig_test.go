package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/testhook"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

const (
	assume    = ststest.ActionAssumeRoleWithWebIdentity
	subject   = "system:serviceaccount:prod:billing"
	clientID  = "awsoidc-cli"
	lifetime  = time.Hour // of the credentials ststest issues (the role's default maximum)
	mandatory = 5 * time.Minute
)

// t0 is the start of fake time: whole seconds, like the Date header and
// STS's Expiration, so that times compare exactly.
var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// guard bounds every real wait of a test: a deadlock fails the test
// instead of hanging it. Nothing in these tests waits on it in a normal run.
const guard = 30 * time.Second

// server is one ststest server shared by the rows of a test (key
// generation costs real time under -race), whose clock follows the rig of
// the row being run.
type server struct {
	srv    *ststest.Server
	now    atomic.Pointer[func() time.Time]
	role   string // trusts tokens of the server's own audience
	device string // trusts ID tokens of clientID
}

func newServer(t testing.TB, optFns ...func(*ststest.Options)) *server {
	t.Helper()
	s := &server{}
	wall := time.Now
	s.now.Store(&wall)
	opts := append([]func(*ststest.Options){func(o *ststest.Options) {
		o.Now = func() time.Time { return (*s.now.Load())() }
	}}, optFns...)
	s.srv = ststest.NewServer(opts...)
	t.Cleanup(s.srv.Close)
	s.role = s.srv.AddRole(ststest.Role{Name: "reliability", Subject: "system:serviceaccount:prod:*"})
	s.srv.AddClient(ststest.Client{ID: clientID, IDTokenTTL: 30 * time.Minute, Interval: time.Second})
	s.device = s.srv.AddRole(ststest.Role{Name: "device", Audience: clientID})
	return s
}

// setClock makes the server's clock run offset ahead of clk.
func (s *server) setClock(clk clock.Clock, offset time.Duration) {
	now := func() time.Time { return clk.Now().Add(offset) }
	s.now.Store(&now)
}

// reset clears every fault, hold latency and counter left by a row.
func (s *server) reset() {
	for _, a := range []ststest.Action{assume, ststest.ActionJWKS, ststest.ActionDiscovery, ststest.ActionToken, ststest.ActionDeviceAuthorization} {
		s.srv.ClearFaults(a)
		s.srv.SetLatency(a, 0)
	}
	s.srv.ResetCalls()
}

// calls is the number of AssumeRoleWithWebIdentity requests so far.
func (s *server) calls() int { return s.srv.Calls(assume) }

// secrets collects every secret value a test has seen, to search every
// output for them.
type secrets struct {
	mu   sync.Mutex
	vals map[string]string // value -> what it is
}

func (s *secrets) add(what, v string) {
	if len(v) < 8 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals == nil {
		s.vals = make(map[string]string)
	}
	s.vals[v] = what
	// A JWT's signature alone is enough to spot a leak of its tail.
	if parts := strings.Split(v, "."); len(parts) == 3 && len(parts[2]) >= 16 {
		s.vals[parts[2]] = what + " (signature)"
	}
}

func (s *secrets) addCreds(c aws.Credentials) {
	s.add("secret access key", c.SecretAccessKey)
	s.add("session token", c.SessionToken)
}

// find returns a description of the first secret in text, or "".
func (s *secrets) find(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	// One pass over text for all values (a Replacer matches with a trie),
	// then the slow search only when something matched.
	pairs := make([]string, 0, 2*len(s.vals))
	for v := range s.vals {
		pairs = append(pairs, v, "")
	}
	if strings.NewReplacer(pairs...).Replace(text) == text {
		return ""
	}
	for v, what := range s.vals {
		if strings.Contains(text, v) {
			return what
		}
	}
	return ""
}

func (s *secrets) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.vals)
}

// capture is a concurrency-safe log sink: every slog record of every
// component at debug level, and every error string a test collects.
type capture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *capture) logger(component string) *slog.Logger {
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", component)
}

// addText records an error or value in every fmt verb.
func (c *capture) addText(label string, v any) {
	_, _ = fmt.Fprintf(c, "%s: %v | %+v | %#v | %s\n", label, v, v, v, v)
}

// instant is a clock whose timers fire at once, moving its own time
// forward by their duration: the token file's retries run through their
// whole schedule in no real time. onSleep, when set, runs before each
// timer fires, with the number of sleeps so far.
type instant struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  int
	onSleep func(n int)
}

func (c *instant) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *instant) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	c.sleeps++
	n, hook := c.sleeps, c.onSleep
	c.now = c.now.Add(max(d, 0))
	now := c.now
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	ch := make(chan time.Time, 1)
	ch <- now
	return firedTimer(ch)
}

type firedTimer chan time.Time

func (t firedTimer) C() <-chan time.Time { return t }
func (t firedTimer) Stop() bool          { return false }

// rigOptions choose the parts of a rig.
type rigOptions struct {
	device   bool                                   // token source: deviceflow instead of a token file
	store    func(t *testing.T, r *rig) cache.Store // persistent store, nil for none
	attempts int                                    // provider MaxAttempts, 0 for the default
	offset   time.Duration                          // STS's clock minus the local clock
	slowIdP  bool                                   // use the server whose IdP timeout is short
	noSkew   bool                                   // provider.Options.DisableClockSkewCorrection
	source   string                                 // token source: a kind (kindGitHub, ..., kindExec) instead of the token file
}

// rig is the whole chain for one row: token file (or device flow, an HTTP
// identity endpoint, a command) →
// provider (real sts client over HTTP) → cache (optional FileStore), on a
// fake clock shared with ststest.
type rig struct {
	t       *testing.T
	s       *server
	clk     *clock.Fake
	provClk *providerClock // clk, as the provider sees it
	fileClk *instant
	dir     string
	path    string // token file
	role    string
	prov    *provider.Provider
	cache   *cache.Cache
	store   cache.Store
	dev     *deviceflow.Source
	devMem  *deviceflow.FileStore
	log     *capture // this rig's logs and errors; appended to shared at cleanup
	sec     *secrets

	full      atomic.Bool // fullStore: writes fail as on a full disk
	storeSnap []byte      // the store file before a fault, to compare after
	holdBase  int         // requests of the held action before the Retrieve

	mu       sync.Mutex
	events   []cache.RefreshEvent
	changed  chan struct{}      // closed and replaced on every event
	releases []func()           // of Hold, called by releaseHolds and at cleanup
	daemon   *deviceflow.Source // the device-flow source the provider reads, if any
	idp      *identityEndpoint  // the identity endpoint of an HTTP source, if any
}

func newRig(t *testing.T, s *server, shared *capture, sec *secrets, o rigOptions) *rig {
	t.Helper()
	s.reset()
	log := &capture{}
	r := &rig{t: t, s: s, clk: clock.NewFake(t0), fileClk: &instant{now: t0}, dir: t.TempDir(), log: log, sec: sec, role: s.role,
		changed: make(chan struct{})}
	r.provClk = &providerClock{Fake: r.clk, waits: make(chan time.Duration, 16)}
	t.Cleanup(func() {
		r.releaseHolds()
		// A device-flow renewal runs on, detached, after the caller that
		// started it gave up (a held token endpoint): wait for it to end
		// (Token joins it) before the store's directory is removed.
		if r.daemon != nil {
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			_, _ = r.daemon.Token(ctx)
			cancel()
		}
		_, _ = shared.Write([]byte(log.String()))
	})
	s.setClock(r.clk, o.offset)
	r.path = filepath.Join(r.dir, "token")
	var src tokensource.Source
	if o.device {
		r.role = s.device
		r.devMem = devStore(t)
		dev, err := deviceflow.New(s.srv.Issuer(), clientID, func(do *deviceflow.Options) {
			do.Store = r.devMem
			do.HTTPClient = s.srv.HTTPClient()
			do.Logger = log.logger("deviceflow")
			do.Prompt = deviceflow.PromptFunc(func(context.Context, deviceflow.Prompt) error { return nil })
		})
		if err != nil {
			t.Fatal(err)
		}
		testhook.SetClock(dev, r.clk)
		r.dev = dev
		s.srv.AutoApprove("alice")
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := dev.Login(ctx); err != nil {
			t.Fatalf("device login: %v", err)
		}
		s.srv.AutoApprove("")
		r.collectDeviceTokens()
		// The daemon is another process than the one that logged in: a
		// new Source on the same store, which has not run discovery yet.
		daemon, err := deviceflow.New(s.srv.Issuer(), clientID, func(do *deviceflow.Options) {
			do.Store = r.devMem
			do.HTTPClient = s.srv.HTTPClient()
			do.Logger = log.logger("deviceflow")
		})
		if err != nil {
			t.Fatal(err)
		}
		testhook.SetClock(daemon, r.clk)
		r.daemon = daemon
		src = daemon
	} else {
		r.writeToken(r.mint(0))
		switch o.source {
		case "":
			src = tokensource.File(r.path)
			testhook.SetClock(src, r.fileClk)
		case kindExec:
			src = newExecSource(t, r)
		default:
			r.idp, src = newIdentityEndpoint(t, r, o.source)
		}
	}
	p, err := provider.New(provider.NewSTSClient(s.srv.Config(nil)), r.role, src, func(po *provider.Options) {
		po.Clock = r.provClk
		po.Rand = func() float64 { return 0 } // retries at once: the matrix counts calls, not waits
		po.MaxAttempts = o.attempts
		po.Logger = log.logger("provider")
		po.SourceID = r.path
		po.DisableClockSkewCorrection = o.noSkew
	})
	if err != nil {
		t.Fatal(err)
	}
	r.prov = p
	if o.store != nil {
		r.store = o.store(t, r)
	}
	r.cache = cache.New(p, func(co *cache.Options) {
		co.Clock = r.clk
		co.Logger = log.logger("cache")
		co.Jitter = cache.NoJitter
		co.Rand = func() float64 { return 0.5 }
		if r.store != nil {
			co.Store = r.store
			co.StoreKey = p.CacheKey()
		}
		events := slog.New(slog.NewJSONHandler(log, nil))
		co.OnRefresh = func(ev cache.RefreshEvent) {
			log.addText("refresh event", ev)
			events.Info("refresh event", "event", ev)
			r.mu.Lock()
			r.events = append(r.events, ev)
			close(r.changed)
			r.changed = make(chan struct{})
			r.mu.Unlock()
		}
	})
	t.Cleanup(func() { _ = r.cache.Close() })
	return r
}

func (r *rig) srv() *ststest.Server { return r.s.srv }

// hold makes the server hold requests of action until releaseHolds (or the
// end of the test).
func (r *rig) hold(action ststest.Action) {
	release := r.s.srv.Hold(action)
	r.mu.Lock()
	r.releases = append(r.releases, release)
	r.mu.Unlock()
}

// releaseHolds releases every request held by hold.
func (r *rig) releaseHolds() {
	r.mu.Lock()
	rel := r.releases
	r.releases = nil
	r.mu.Unlock()
	for _, f := range rel {
		f()
	}
}

// waitEvents blocks until the cache has reported n refresh events.
func (r *rig) waitEvents(n int) {
	r.t.Helper()
	timeout := time.NewTimer(guard)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		have, ch := len(r.events), r.changed
		r.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-ch:
		case <-timeout.C:
			r.t.Fatalf("%d refresh events after %s, want %d", have, guard, n)
		}
	}
}

// step calls Retrieve like a daemon's request would, and when that starts
// a refresh (now is at or past the NextRefresh of the latest event: the
// advisory window, a backoff that ended, expiry), waits for its outcome, so
// that the fake clock never moves while a refresh runs.
func (r *rig) step(ctx context.Context) result {
	r.t.Helper()
	n := r.eventCount()
	last, ok := r.lastEvent()
	due := !ok || !r.clk.Now().Before(last.NextRefresh)
	res := r.retrieve(ctx, nil)
	if due {
		r.waitEvents(n + 1)
	}
	return res
}

// eventCount returns the number of refresh events so far.
func (r *rig) eventCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// mint returns a token signed by ststest for the rig's role, expiring
// valid after the server's now (negative: already expired).
func (r *rig) mint(valid time.Duration) string {
	c := ststest.Claims{Subject: subject}
	if valid != 0 {
		c.Expiry = r.clk.Now().Add(valid)
		c.IssuedAt = c.Expiry.Add(-24 * time.Hour)
	}
	tok := r.s.srv.MintToken(c)
	r.sec.add("web identity token", tok)
	return tok
}

func (r *rig) writeToken(tok string) {
	r.t.Helper()
	if err := os.WriteFile(r.path, []byte(tok), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// devStore returns a device-flow token store in a directory of its own.
func devStore(t *testing.T) *deviceflow.FileStore {
	t.Helper()
	st, err := deviceflow.NewFileStore(filepath.Join(t.TempDir(), "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// collectDeviceTokens adds the device flow's stored tokens to the secrets.
func (r *rig) collectDeviceTokens() {
	if r.devMem == nil {
		return
	}
	toks, ok, _ := r.devMem.Load(context.Background(), deviceflow.StoreKey(r.s.srv.Issuer(), clientID))
	if ok {
		r.sec.add("ID token", toks.IDToken)
		r.sec.add("access token", toks.AccessToken)
		r.sec.add("refresh token", toks.RefreshToken)
	}
}

// result is what one Retrieve returned.
type result struct {
	creds aws.Credentials
	err   error
}

// retrieve calls the cache's Retrieve; during, when set, runs meanwhile
// (to move the fake clock or release a held request) and Retrieve's result
// is awaited after it returns.
func (r *rig) retrieve(ctx context.Context, during func()) result {
	r.t.Helper()
	done := make(chan result, 1)
	go func() {
		creds, err := r.cache.Retrieve(ctx)
		done <- result{creds, err}
	}()
	if during != nil {
		during()
	}
	select {
	case res := <-done:
		r.record(res)
		return res
	case <-time.After(guard):
		// Errorf, not Fatalf: retrieve also runs on other goroutines.
		r.t.Errorf("Retrieve did not return within %s", guard)
		return result{err: fmt.Errorf("Retrieve did not return within %s", guard)}
	}
}

// record adds what a Retrieve returned to the secrets (credentials) or the
// captured text (errors).
func (r *rig) record(res result) {
	if res.err != nil {
		r.log.addText("Retrieve error", res.err)
		for e := res.err; e != nil; e = errors.Unwrap(e) {
			r.log.addText(fmt.Sprintf("  cause %T", e), e)
		}
		return
	}
	r.sec.addCreds(res.creds)
	r.collectDeviceTokens()
}

// callerIdentity checks, with ststest's GetCallerIdentity, that creds are
// valid at the server's now: the SigV4 signature made with them verifies
// and the session has not expired.
func (r *rig) callerIdentity(ctx context.Context, creds aws.Credentials) error {
	cfg := r.s.srv.Config(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }))
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	return err
}

// lastEvent returns the latest refresh event.
func (r *rig) lastEvent() (cache.RefreshEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return cache.RefreshEvent{}, false
	}
	return r.events[len(r.events)-1], true
}

// waitCalls blocks until n AssumeRoleWithWebIdentity requests (or of
// action) have reached the server.
func (r *rig) waitCalls(action ststest.Action, n int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := r.s.srv.WaitCalls(ctx, action, n); err != nil {
		r.t.Fatalf("waiting for %d %s requests: %v", n, action, err)
	}
}

// providerClock is the provider's view of the rig's fake clock: it reports
// the length of every wait the provider begins on waits.
type providerClock struct {
	*clock.Fake
	waits chan time.Duration
}

// NewTimer starts a timer of the fake clock and reports d.
func (c *providerClock) NewTimer(d time.Duration) clock.Timer {
	tm := c.Fake.NewTimer(d)
	select {
	case c.waits <- d:
	default: // nobody waits for it: the rows that do not look
	}
	return tm
}

// waitProviderWait blocks until the provider begins a wait of d on the
// fake clock (a backoff, a Retry-After).
func (r *rig) waitProviderWait(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.NewTimer(guard)
	defer timeout.Stop()
	for {
		select {
		case got := <-r.provClk.waits:
			if got == d {
				return
			}
		case <-timeout.C:
			t.Fatalf("the provider began no wait of %s within %s", d, guard)
		}
	}
}
