package reliability

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/internal/securefile"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// phase is one half of a row: a cold start (the cache holds nothing), or a
// warm cache whose valid credentials are in their mandatory window (they
// expire in 2 minutes: callers wait for the refresh, which hits the fault,
// at most cache.Options.MaxWait, 1 s of fake time, before they are served
// the cached credentials).
type phase int

const (
	cold phase = iota
	warm
)

func (p phase) String() string { return [...]string{"cold", "warm"}[p] }

// outcome is what a row expects the caller to see in one phase.
type outcome struct {
	ok    bool   // credentials (else an error)
	calls int    // AssumeRoleWithWebIdentity requests made by this Retrieve
	kept  bool   // warm, ok: the cached credentials were served (stale but valid), no new ones
	is    error  // the error matches it (errors.Is), when set
	as    any    // the error matches it (errors.As, a pointer to a pointer), when set
	class string // provider.RetrieveError class, when the cause is one
	hint  string // the message says what to do: contains this
}

// row is one stage × fault of the matrix.
type row struct {
	stage, fault string
	opts         rigOptions
	// inject sets the fault up on a rig whose cache is cold or warm.
	inject func(t *testing.T, r *rig, p phase)
	// during, when set, runs while Retrieve runs (base: the STS calls
	// before it), to drive the fake clock or release held requests.
	during func(t *testing.T, r *rig, base int)
	// ctx, when set, makes the caller's context.
	ctx        func() (context.Context, context.CancelFunc)
	cold, warm outcome
	// warmLeft is how long before expiry the warm phase runs: default 2
	// minutes (mandatory window); more for the advisory window.
	warmLeft time.Duration
	// callers is the number of concurrent callers (default 1).
	callers int
	// check, when set, makes extra assertions after the phase.
	check func(t *testing.T, r *rig, p phase)
	// note is printed in the table.
	note string
}

// cell is a row's printed result in one phase.
type cell struct {
	sees  string
	calls int
	kept  string
}

// TestFaultMatrix runs every stage × fault, cold and warm, through the whole
// chain (token file or device flow → provider with the real sts client →
// ststest over HTTP → cache, with a FileStore for the store rows), and
// prints what the caller sees:
//
//	go test -v -run TestFaultMatrix ./internal/reliability/
func TestFaultMatrix(t *testing.T) {
	log, sec := &capture{}, &secrets{}
	srv := newServer(t)
	slowIdP := newServer(t, func(o *ststest.Options) { o.IDPTimeout = 100 * time.Millisecond })
	results := runMatrix(t, srv, slowIdP, log, sec, matrixRows())
	if testing.Verbose() {
		fmt.Println(renderMatrix(results))
	}
	// The secret sweep of the fault paths: every debug log record of the
	// provider, cache and device flow, every error a caller got (with its
	// causes, in %v, %+v, %#v and %s) and every refresh event (in fmt and
	// slog JSON), searched for every token, secret key, session token and
	// refresh token the rows minted or were issued.
	t.Run("no secret in any log, error or event", func(t *testing.T) {
		text := log.String()
		if n := sec.count(); n < 100 {
			t.Fatalf("only %d secret values collected: the sweep has nothing to find", n)
		}
		if !strings.Contains(text, "level=WARN") || !strings.Contains(text, "Retrieve error") || !strings.Contains(text, "refresh event") {
			t.Fatalf("the capture lacks logs, errors or events: %d bytes", len(text))
		}
		if leak := sec.find(text); leak != "" {
			t.Errorf("a %s appears in the logs, errors or events of the fault paths", leak)
		}
		t.Logf("%d secret values searched in %d bytes of logs, errors and events", sec.count(), len(text))
	})
}

type rowResult struct {
	row        row
	cold, warm cell
}

func runMatrix(t *testing.T, srv, slowIdP *server, log *capture, sec *secrets, rows []row) []rowResult {
	var out []rowResult
	for _, rw := range rows {
		res := rowResult{row: rw}
		t.Run(rw.stage+"/"+rw.fault, func(t *testing.T) {
			s := srv
			if rw.opts.slowIdP {
				s = slowIdP
			}
			res.cold = runPhase(t, s, log, sec, rw, cold)
			res.warm = runPhase(t, s, log, sec, rw, warm)
		})
		out = append(out, res)
	}
	return out
}

// runPhase runs one phase of a row on a fresh rig and checks it.
func runPhase(t *testing.T, s *server, log *capture, sec *secrets, rw row, ph phase) cell {
	t.Helper()
	r := newRig(t, s, log, sec, rw.opts)
	// End the phase cleanly before the next one: release held requests,
	// then stop the cache and wait for its goroutines.
	defer func() { _ = r.cache.Close() }()
	defer r.releaseHolds()
	want := rw.cold
	var before aws.Credentials
	if ph == warm {
		want = rw.warm
		res := r.retrieve(context.Background(), nil)
		if res.err != nil {
			t.Fatalf("warm-up: %v", res.err)
		}
		before = res.creds
		ev, _ := r.lastEvent()
		left := rw.warmLeft
		if left == 0 {
			left = 2 * time.Minute
		}
		r.clk.Set(ev.Expires.Add(-left))
	}
	if rw.inject != nil {
		rw.inject(t, r, ph)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	if rw.ctx != nil {
		cancel()
		ctx, cancel = rw.ctx()
	}
	defer cancel()
	base := s.calls()
	n := max(rw.callers, 1)
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.retrieve(ctx, nil)
		}()
	}
	var during func()
	if rw.during != nil {
		during = func() { rw.during(t, r, base) }
	}
	results[0] = r.retrieve(ctx, during)
	wg.Wait()
	if rw.warmLeft > 0 && ph == warm {
		// The advisory window: the refresh runs in the background; wait
		// for its outcome before counting.
		r.waitEvents(2)
	}
	calls := s.calls() - base

	c := cell{calls: calls}
	for i, res := range results {
		c.sees = checkOutcome(t, r, ph, want, res, before, i)
	}
	if calls != want.calls {
		t.Errorf("%s: %d STS calls, want %d", ph, calls, want.calls)
	}
	if ph == warm {
		c.kept = "kept"
		if want.ok && !want.kept {
			c.kept = "refreshed"
		}
		if !want.ok {
			// The cache holds valid credentials: an error drops them.
			t.Errorf("warm: the row expects an error although valid credentials are cached, which must be served")
			c.kept = "**dropped**"
		}
	}
	if rw.check != nil {
		rw.check(t, r, ph)
	}
	return c
}

// checkOutcome checks one caller's result against want, and describes it.
func checkOutcome(t *testing.T, r *rig, ph phase, want outcome, res result, before aws.Credentials, i int) string {
	t.Helper()
	if !want.ok {
		if res.err == nil {
			t.Fatalf("%s caller %d: credentials, want an error", ph, i)
		}
		if want.is != nil && !errors.Is(res.err, want.is) {
			t.Errorf("%s: error %v does not match %v", ph, res.err, want.is)
		}
		if want.as != nil && !errors.As(res.err, want.as) {
			t.Errorf("%s: error %v is not a %T", ph, res.err, want.as)
		}
		var re *provider.RetrieveError
		if want.class != "" && (!errors.As(res.err, &re) || string(re.Class) != want.class) {
			t.Errorf("%s: error %v: want provider class %s", ph, res.err, want.class)
		}
		if !strings.Contains(res.err.Error(), want.hint) {
			t.Errorf("%s: error %q lacks the hint %q", ph, res.err, want.hint)
		}
		return describeError(res.err, want.hint)
	}
	if res.err != nil {
		t.Fatalf("%s caller %d: %v", ph, i, res.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := r.callerIdentity(ctx, res.creds); err != nil {
		t.Errorf("%s: the credentials served are not valid at STS: %v", ph, err)
	}
	same := before.AccessKeyID != "" && res.creds.AccessKeyID == before.AccessKeyID
	if ph == warm && same != want.kept {
		t.Errorf("warm: served the cached credentials = %v, want %v", same, want.kept)
	}
	switch {
	case ph == warm && same:
		return "cached credentials (stale, valid until expiry)"
	case ph == warm:
		return "new credentials"
	}
	return "credentials"
}

// describeError names the typed errors in err's chain and quotes the hint.
func describeError(err error, hint string) string {
	var parts []string
	var (
		ce *cache.RefreshError
		pe *provider.RetrieveError
		te *tokensource.Error
		de *deviceflow.TokenError
		se *securefile.Error
	)
	if errors.As(err, &ce) {
		parts = append(parts, "cache.RefreshError")
	} else if strings.HasPrefix(err.Error(), "cache: gave up waiting") {
		parts = append(parts, "ctx error (caller's deadline)")
	}
	if errors.As(err, &pe) {
		s := "provider.RetrieveError " + string(pe.Class)
		if pe.Code != "" {
			s += " " + pe.Code
		}
		parts = append(parts, s)
	}
	switch {
	case errors.Is(err, deviceflow.ErrLoginRequired):
		parts = append(parts, "deviceflow.ErrLoginRequired")
	case errors.As(err, &de):
		parts = append(parts, "deviceflow.TokenError "+de.ErrorCode)
	}
	if errors.As(err, &te) {
		parts = append(parts, "tokensource.Error")
	}
	if errors.As(err, &se) {
		parts = append(parts, "securefile.Error")
	}
	s := "error: " + strings.Join(parts, " ← ")
	if hint != "" {
		s += fmt.Sprintf(` "…%s…"`, hint)
	}
	return s
}

// renderMatrix prints the results as a Markdown table.
func renderMatrix(results []rowResult) string {
	var b strings.Builder
	b.WriteString("\nFault matrix (go test -v -run TestFaultMatrix ./internal/reliability/)\n")
	b.WriteString("cold: no credentials cached; warm: valid credentials cached, 2 minutes before expiry (mandatory window: callers wait at most MaxWait, 1 s) unless noted.\n")
	b.WriteString("STS = AssumeRoleWithWebIdentity requests that reached ststest during that Retrieve (provider: up to 5 attempts per refresh).\n\n")
	b.WriteString("| stage | fault | cold: caller sees | STS | warm: caller sees | STS | valid creds |\n")
	b.WriteString("|---|---|---|---:|---|---:|---|\n")
	for _, r := range results {
		fault := r.row.fault
		if r.row.note != "" {
			fault += " (" + r.row.note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %d | %s |\n",
			r.row.stage, fault, r.cold.sees, r.cold.calls, r.warm.sees, r.warm.calls, r.warm.kept)
	}
	return b.String()
}

// matrixRows is the matrix.
func matrixRows() []row {
	const (
		hintTransient = "transient failure, retry later"
		hintIDP       = "check the issuer is reachable from AWS"
		hintExpired   = "check that it is refreshed"
		hintInvalid   = "check the IAM OIDC provider's issuer URL, audience and signing keys"
		hintFile      = "check that the web identity token file exists"
		hintDeadline  = "the deadline passed before STS answered"
		// hintSourceDeadline: the deadline passed while the token source
		// worked, before any STS call.
		hintSourceDeadline = "the deadline passed before the token source answered"
		hintSource         = "the token source failed: see its error"
	)
	fail := func(action ststest.Action, f ststest.Fault) func(*testing.T, *rig, phase) {
		return func(_ *testing.T, r *rig, _ phase) { r.s.srv.Fail(action, f) }
	}
	ok := func(calls int) outcome { return outcome{ok: true, calls: calls} }
	kept := func(calls int) outcome { return outcome{ok: true, calls: calls, kept: true} }
	transient := func(hint string) outcome {
		return outcome{calls: 5, as: new(*cache.RefreshError), class: "transient", hint: hint}
	}
	// hold blocks the action's requests; the fake clock then passes the
	// cache's refresh timeout, which cancels the refresh.
	hold := func(action ststest.Action) (func(*testing.T, *rig, phase), func(*testing.T, *rig, int)) {
		inject := func(_ *testing.T, r *rig, _ phase) {
			r.holdBase = r.s.srv.Calls(action) // before Retrieve starts
			r.hold(action)
		}
		during := func(t *testing.T, r *rig, _ int) {
			r.waitCalls(action, r.holdBase+1)
			r.clk.Advance(time.Minute)
		}
		return inject, during
	}
	holdSTS, passTimeout := hold(assume)
	holdToken, passTokenTimeout := hold(ststest.ActionToken)
	writeToken := func(content func(r *rig) []byte) func(*testing.T, *rig, phase) {
		return func(t *testing.T, r *rig, _ phase) {
			if err := os.WriteFile(r.path, content(r), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// deviceExpired moves the clock past the ID token's 30-minute life
	// (cold; warm already is, at 58 minutes).
	deviceExpired := func(then func(*testing.T, *rig, phase)) func(*testing.T, *rig, phase) {
		return func(t *testing.T, r *rig, p phase) {
			if p == cold {
				r.clk.Advance(31 * time.Minute)
			}
			if then != nil {
				then(t, r, p)
			}
		}
	}
	diskStore := func(t *testing.T, r *rig) cache.Store {
		st, err := cache.NewFileStore(filepath.Join(r.dir, "store"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	rows := []row{
		// Token source: the projected token file.
		{stage: "token file", fault: "missing", inject: func(t *testing.T, r *rig, _ phase) { _ = os.Remove(r.path) },
			cold: outcome{is: fs.ErrNotExist, as: new(*tokensource.Error), class: "token-source", hint: hintFile}, warm: kept(0),
			note: "re-read for 1 s first"},
		{stage: "token file", fault: "empty", inject: writeToken(func(*rig) []byte { return nil }),
			cold: outcome{is: tokensource.ErrEmpty, class: "token-source", hint: hintFile}, warm: kept(0)},
		{stage: "token file", fault: "partially written (half a JWT)", inject: writeToken(func(r *rig) []byte { t := r.mint(0); return []byte(t[:len(t)/2]) }),
			cold: outcome{calls: 2, class: "token-rejected", hint: hintInvalid}, warm: kept(2)},
		{stage: "token file", fault: "swapped mid-read (kubelet symlink swap)", inject: symlinkSwap,
			cold: ok(1), warm: ok(1), note: "missing at the first read"},
		{stage: "token file", fault: "expired, rotated while STS answers", inject: rotateDuring, during: releaseAfterRotation,
			cold: ok(2), warm: ok(2)},
		{stage: "token file", fault: "expired, never rotated", inject: writeToken(func(r *rig) []byte { return []byte(r.mint(-time.Minute)) }),
			cold: outcome{calls: 2, class: "token-rejected", hint: hintExpired}, warm: kept(2)},
		{stage: "token file", fault: "oversized (70 KiB)", inject: writeToken(func(*rig) []byte { return make([]byte, 70<<10) }),
			cold: outcome{is: tokensource.ErrMalformed, class: "token-source", hint: hintFile}, warm: kept(0)},
		{stage: "token file", fault: "unreadable", inject: unreadable,
			cold: outcome{as: new(*tokensource.Error), class: "token-source", hint: hintFile}, warm: kept(0),
			note: unreadableNote()},

		// STS.
		{stage: "STS", fault: "5xx InternalFailure ×2", inject: fail(assume, ststest.Fault{Times: 2}), cold: ok(3), warm: ok(3)},
		{stage: "STS", fault: "5xx InternalFailure, persistent", inject: fail(assume, ststest.Fault{Times: -1}),
			cold: transient(hintTransient), warm: kept(5)},
		{stage: "STS", fault: "503 ServiceUnavailable, persistent", inject: fail(assume, ststest.Fault{Code: "ServiceUnavailable", Status: 503, Times: -1}),
			cold: transient(hintTransient), warm: kept(5)},
		{stage: "STS", fault: "throttling burst ×3", inject: fail(assume, ststest.Fault{Code: "Throttling", Times: 3}), cold: ok(4), warm: ok(4)},
		{stage: "STS", fault: "throttling, persistent", inject: fail(assume, ststest.Fault{Code: "Throttling", Times: -1}),
			cold: transient(hintTransient), warm: kept(5)},
		{stage: "STS", fault: "IDPCommunicationError burst ×3", inject: fail(assume, ststest.Fault{Code: "IDPCommunicationError", Times: 3}), cold: ok(4), warm: ok(4)},
		{stage: "STS", fault: "IDPCommunicationError, persistent", inject: fail(assume, ststest.Fault{Code: "IDPCommunicationError", Times: -1}),
			cold: transient(hintIDP), warm: kept(5)},
		{stage: "STS", fault: "connection reset ×2", inject: fail(assume, ststest.Fault{Reset: true, Times: 2}), cold: ok(3), warm: ok(3)},
		{stage: "STS", fault: "connection reset, persistent", inject: fail(assume, ststest.Fault{Reset: true, Times: -1}),
			cold: transient(hintTransient), warm: kept(5)},
		{stage: "STS", fault: "malformed XML (truncated 200) ×1", inject: fail(assume, ststest.Fault{Malformed: true}), cold: ok(2), warm: ok(2)},
		{stage: "STS", fault: "malformed XML, persistent", inject: fail(assume, ststest.Fault{Malformed: true, Times: -1}),
			cold: transient(hintTransient), warm: kept(5)},
		{stage: "STS", fault: "slow (50 ms per answer)", inject: func(_ *testing.T, r *rig, _ phase) { r.s.srv.SetLatency(assume, 50*time.Millisecond) },
			cold: ok(1), warm: ok(1)},
		{stage: "STS", fault: "hangs; cache refresh timeout (1 min, fake clock)", inject: holdSTS, during: passTimeout,
			cold: outcome{calls: 1, as: new(*cache.RefreshError), is: context.DeadlineExceeded, class: "canceled", hint: hintDeadline}, warm: kept(1),
			note: "warm: the caller is served the cached credentials after MaxWait (1 s), not at the refresh timeout"},
		{stage: "STS", fault: "hangs; caller's own deadline (100 ms)", inject: holdSTS, ctx: shortCtx,
			cold: outcome{calls: 1, is: context.DeadlineExceeded, hint: "gave up waiting for the credentials refresh"},
			warm: kept(1),
			check: func(t *testing.T, r *rig, p phase) {
				const warning = "a caller stopped waiting for the credentials refresh; serving the cached credentials until they expire"
				if p == warm && !strings.Contains(r.log.String(), warning) {
					t.Errorf("warm: no warning %q in the logs", warning)
				}
				drainHeld(t, r, p)
			},
			note: "warm: the caller leaves with the cached credentials; the one refresh goes on and its result is served next"},
		{stage: "STS", fault: "ExpiredTokenException ×1", inject: fail(assume, ststest.Fault{Code: "ExpiredTokenException"}), cold: ok(2), warm: ok(2),
			note: "one fresh token, one retry"},
		{stage: "STS", fault: "ExpiredTokenException, persistent", inject: fail(assume, ststest.Fault{Code: "ExpiredTokenException", Times: -1}),
			cold: outcome{calls: 2, class: "token-rejected", hint: hintExpired}, warm: kept(2)},
		{stage: "STS", fault: "InvalidIdentityToken (unknown signing key)", inject: writeToken(func(r *rig) []byte {
			tok := r.s.srv.MintToken(ststest.Claims{Subject: subject, UnknownKey: true})
			r.sec.add("web identity token", tok)
			return []byte(tok)
		}), cold: outcome{calls: 2, class: "token-rejected", hint: hintInvalid}, warm: kept(2)},
		{stage: "STS", fault: "IDPRejectedClaim", inject: fail(assume, ststest.Fault{Code: "IDPRejectedClaim", Times: -1}),
			cold: outcome{calls: 1, class: "permanent", hint: "trust policy rejected the token's claims"}, warm: kept(1)},
		{stage: "STS", fault: "AccessDenied (subject not trusted)", inject: writeToken(func(r *rig) []byte {
			tok := r.s.srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:intruder:x"})
			r.sec.add("web identity token", tok)
			return []byte(tok)
		}), cold: outcome{calls: 1, class: "permanent", hint: "trust policy allows sts:AssumeRoleWithWebIdentity"}, warm: kept(1)},

		// The identity provider, as STS sees it (discovery and JWKS fetched
		// on every AssumeRoleWithWebIdentity).
		{stage: "identity provider", fault: "JWKS down ×2", inject: fail(ststest.ActionJWKS, ststest.Fault{Times: 2}), cold: ok(3), warm: ok(3)},
		{stage: "identity provider", fault: "JWKS down, persistent", inject: fail(ststest.ActionJWKS, ststest.Fault{Times: -1}),
			cold: transient(hintIDP), warm: kept(5)},
		{stage: "identity provider", fault: "discovery down, persistent", inject: fail(ststest.ActionDiscovery, ststest.Fault{Code: "temporarily_unavailable", Times: -1}),
			cold: transient(hintIDP), warm: kept(5)},
		{stage: "identity provider", fault: "JWKS slow (30 ms)", inject: func(_ *testing.T, r *rig, _ phase) { r.s.srv.SetLatency(ststest.ActionJWKS, 30*time.Millisecond) },
			cold: ok(1), warm: ok(1)},
		{stage: "identity provider", fault: "JWKS hangs past STS's IdP timeout", opts: rigOptions{slowIdP: true},
			inject: func(_ *testing.T, r *rig, _ phase) { r.hold(ststest.ActionJWKS) },
			cold:   transient(hintIDP), warm: kept(5), note: "ststest IDPTimeout 100 ms"},

		// The cache itself.
		{stage: "cache", fault: "100 concurrent callers, STS down", inject: fail(assume, ststest.Fault{Times: -1}), callers: 100,
			cold: transient(hintTransient), warm: kept(5), note: "one refresh for all"},
		{stage: "cache", fault: "STS down in the advisory window", inject: fail(assume, ststest.Fault{Times: -1}), warmLeft: 12 * time.Minute,
			cold: transient(hintTransient), warm: kept(5), note: "warm: 12 min before expiry, served at once",
			check: func(t *testing.T, r *rig, p phase) {
				if ev, _ := r.lastEvent(); p == warm && (ev.Outcome != cache.OutcomeFailed || !ev.Stale) {
					t.Errorf("background refresh event %+v, want a stale failure", ev)
				}
			}},
		{stage: "cache", fault: "retry loop in an outage (backoff)", inject: fail(assume, ststest.Fault{Times: -1}), check: hammer,
			cold: transient(hintTransient), warm: kept(5), note: "then 1 call/s for 10 min: see check"},

		// The persistent store (cache.FileStore on disk).
		{stage: "store", fault: "directory unwritable", opts: rigOptions{store: unwritableStore}, cold: ok(1), warm: ok(1),
			check: expectLog("cannot save credentials to the store")},
		{stage: "store", fault: "disk full (failing writer)", opts: rigOptions{store: fullStore}, inject: fullInject, cold: ok(1), warm: ok(1),
			check: checkFull},
		{stage: "store", fault: "corrupt file", opts: rigOptions{store: diskStore}, inject: corruptStore(false), cold: ok(1), warm: ok(1),
			check: storeHealed},
		{stage: "store", fault: "truncated file", opts: rigOptions{store: diskStore}, inject: corruptStore(true), cold: ok(1), warm: ok(1),
			check: storeHealed},
		{stage: "store", fault: "directory made group-writable", opts: rigOptions{store: diskStore}, inject: groupWritable, cold: ok(1), warm: ok(1),
			check: expectLog("has insecure permissions")},
		{stage: "store", fault: "symlink planted in place of the file", opts: rigOptions{store: diskStore}, inject: plantSymlink, cold: ok(1), warm: ok(1),
			check: checkSymlink},

		// Device flow: the token source is a device-flow login whose ID
		// token (30 min) is renewed with the refresh token.
		{stage: "device flow", fault: "token endpoint down, ID token still valid", opts: rigOptions{device: true},
			inject: func(_ *testing.T, r *rig, p phase) {
				if p == cold {
					r.clk.Advance(29*time.Minute + 30*time.Second) // inside the 1-minute renewal margin
				} else {
					r.srv().Fail(ststest.ActionToken, ststest.Fault{Times: -1})
					return
				}
				r.srv().Fail(ststest.ActionToken, ststest.Fault{Times: -1})
			},
			cold: ok(1), warm: kept(0), note: "warm: ID token expired"},
		{stage: "device flow", fault: "token endpoint down (500), ID token expired", opts: rigOptions{device: true},
			inject: deviceExpired(fail(ststest.ActionToken, ststest.Fault{Times: -1})),
			cold:   outcome{as: new(*deviceflow.TokenError), class: "token-source", hint: "server_error"}, warm: kept(0)},
		{stage: "device flow", fault: "token endpoint blip ×1 (reset)", opts: rigOptions{device: true},
			inject: deviceExpired(fail(ststest.ActionToken, ststest.Fault{Reset: true})),
			cold:   outcome{class: "token-source", hint: hintSource}, warm: kept(0),
			check: recoversAfterBackoff, note: "not retried at once; the cache's next attempt (1 s) succeeds"},
		{stage: "device flow", fault: "token endpoint hangs; cache refresh timeout", opts: rigOptions{device: true},
			inject: deviceExpired(holdToken), during: passTokenTimeout,
			cold: outcome{is: context.DeadlineExceeded, class: "canceled", hint: hintSourceDeadline}, warm: kept(0)},
		{stage: "device flow", fault: "token endpoint slow (30 ms)", opts: rigOptions{device: true},
			inject: deviceExpired(func(_ *testing.T, r *rig, _ phase) { r.srv().SetLatency(ststest.ActionToken, 30*time.Millisecond) }),
			cold:   ok(1), warm: ok(1)},
		{stage: "device flow", fault: "refresh token revoked", opts: rigOptions{device: true},
			inject: deviceExpired(func(_ *testing.T, r *rig, _ phase) { r.srv().RevokeRefreshTokens() }),
			cold:   outcome{is: deviceflow.ErrLoginRequired, class: "token-source", hint: "login required"}, warm: kept(0)},
		{stage: "device flow", fault: "discovery down (new process)", opts: rigOptions{device: true},
			inject: deviceExpired(fail(ststest.ActionDiscovery, ststest.Fault{Times: -1})),
			cold:   outcome{class: "token-source", hint: "openid-configuration"}, warm: kept(0)},
	}
	return append(rows, sourceRows()...)
}
