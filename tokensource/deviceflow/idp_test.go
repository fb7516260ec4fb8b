package deviceflow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/clock"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelperProcess())
	}
	goleak.VerifyTestMain(m)
}

// t0 is the fake time tests start at.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const testClientID = "cli-client"

// makeJWT returns a JWT-shaped token (junk signature: nothing here checks
// it) with the given claims.
func makeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(claims)
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)) + "." + enc(b) + ".c2lnbmF0dXJl"
}

// idToken returns an ID token of iss that expires at exp.
func idToken(iss, sub string, exp time.Time) string {
	return makeJWT(map[string]any{"iss": iss, "sub": sub, "aud": testClientID, "exp": exp.Unix(), "iat": exp.Add(-time.Hour).Unix()})
}

// userCodes numbers user codes across every fake IdP of the process.
var userCodes atomic.Int64

// fault is a scripted response of the fake token endpoint.
type fault struct {
	status int    // HTTP status of the response
	code   string // "error" field; empty for a plain-text body
	drop   bool   // close the connection instead of answering
}

// device is a pending device authorization at the fake IdP.
type device struct {
	userCode  string
	state     string // "pending", "approved", "denied", "expired", "used"
	slowDowns int    // slow_down answers left before the real state
}

// fakeIdP is a scriptable OpenID provider with the device authorization
// grant (RFC 8628) and the refresh grant, with strict refresh token rotation
// when rotate is set (a used refresh token is invalid).
type fakeIdP struct {
	t   testing.TB
	srv *httptest.Server
	clk clock.Clock

	mu                 sync.Mutex // guards the fields below
	interval           int        // interval of device authorization responses; 0: omitted
	expiresIn          int        // expires_in of device authorization responses; 0: omitted
	idTTL              time.Duration
	rotate             bool
	noRefreshToken     bool
	noIDTokenOnRefresh bool
	jwtAccessToken     bool
	tokenEndpoint      string // overrides the discovered token endpoint
	discoveryPad       int    // bytes of padding in the discovery document
	discoveryStatus    int    // when set, discovery answers this status
	noDeviceEndpoint   bool
	deviceOverride     map[string]any // merged into device authorization responses
	devices            map[string]*device
	users              map[string]string // user code → device code
	refresh            map[string]bool   // live refresh tokens
	faults             []fault           // applied to the next token requests, in order
	calls              map[string]int
	forms              []url.Values // every token request's form
	seq                int
	refreshHold        chan struct{} // when set, refresh requests wait for it to close, then meet the faults
	changed            chan struct{} // closed and replaced on every request
}

// countLocked counts a request of name.
func (idp *fakeIdP) countLocked(name string) {
	idp.calls[name]++
	close(idp.changed)
	idp.changed = make(chan struct{})
}

// waitCalls waits until the IdP has seen n requests of name.
func (idp *fakeIdP) waitCalls(ctx context.Context, name string, n int) error {
	for {
		idp.mu.Lock()
		have, changed := idp.calls[name], idp.changed
		idp.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d %s requests: %w", n, name, ctx.Err())
		}
	}
}

func newFakeIdP(t testing.TB, clk clock.Clock) *fakeIdP {
	idp := &fakeIdP{
		t: t, clk: clk,
		interval: 5, expiresIn: 600, idTTL: time.Hour, rotate: true,
		devices: map[string]*device{}, users: map[string]string{},
		refresh: map[string]bool{}, calls: map[string]int{}, changed: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", idp.discovery)
	mux.HandleFunc("POST /device", idp.deviceAuth)
	mux.HandleFunc("POST /token", idp.token)
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *fakeIdP) issuer() string { return idp.srv.URL }

func (idp *fakeIdP) set(f func(*fakeIdP)) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	f(idp)
}

func (idp *fakeIdP) count(name string) int {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return idp.calls[name]
}

func (idp *fakeIdP) discovery(w http.ResponseWriter, _ *http.Request) {
	idp.mu.Lock()
	idp.countLocked("discovery")
	tokenURL := idp.srv.URL + "/token"
	if idp.tokenEndpoint != "" {
		tokenURL = idp.tokenEndpoint
	}
	pad, status, noDevice := idp.discoveryPad, idp.discoveryStatus, idp.noDeviceEndpoint
	idp.mu.Unlock()
	if status != 0 {
		http.Error(w, "down", status)
		return
	}
	doc := map[string]any{
		"issuer":                                idp.srv.URL,
		"authorization_endpoint":                idp.srv.URL + "/authorize",
		"device_authorization_endpoint":         idp.srv.URL + "/device",
		"token_endpoint":                        tokenURL,
		"jwks_uri":                              idp.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
	if noDevice {
		delete(doc, "device_authorization_endpoint")
	}
	if pad > 0 {
		doc["padding"] = string(make([]byte, pad))
	}
	writeTestJSON(w, http.StatusOK, doc)
}

func (idp *fakeIdP) deviceAuth(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.countLocked("device_authorization")
	if r.PostForm.Get("client_id") != testClientID {
		writeTestJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	idp.seq++
	dc := fmt.Sprintf("device-code-%d", idp.seq)
	uc := fmt.Sprintf("WDJB-%04d", userCodes.Add(1)) // unique across IdPs
	idp.devices[dc] = &device{userCode: uc, state: "pending"}
	idp.users[uc] = dc
	resp := map[string]any{
		"device_code":               dc,
		"user_code":                 uc,
		"verification_uri":          idp.srv.URL + "/activate",
		"verification_uri_complete": idp.srv.URL + "/activate?user_code=" + uc,
	}
	if idp.expiresIn != 0 {
		resp["expires_in"] = idp.expiresIn
	}
	if idp.interval != 0 {
		resp["interval"] = idp.interval
	}
	for k, v := range idp.deviceOverride {
		if v == nil {
			delete(resp, k)
		} else {
			resp[k] = v
		}
	}
	writeTestJSON(w, http.StatusOK, resp)
}

// setState sets the state of the device authorization of userCode.
func (idp *fakeIdP) setState(userCode, state string) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	d := idp.devices[idp.users[userCode]]
	if d == nil {
		idp.t.Errorf("unknown user code %q", userCode)
		return
	}
	d.state = state
}

func (idp *fakeIdP) approve(userCode string) { idp.setState(userCode, "approved") }

func (idp *fakeIdP) slowDown(userCode string, n int) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.devices[idp.users[userCode]].slowDowns = n
}

func (idp *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	grant := r.PostForm.Get("grant_type")
	idp.mu.Lock()
	name := grant
	if grant == deviceCodeGrant {
		name = "device_code"
	}
	idp.countLocked(name)
	idp.forms = append(idp.forms, r.PostForm)
	if hold := idp.refreshHold; grant == "refresh_token" && hold != nil {
		idp.mu.Unlock()
		<-hold
		idp.mu.Lock()
	}
	if len(idp.faults) > 0 {
		f := idp.faults[0]
		idp.faults = idp.faults[1:]
		idp.mu.Unlock()
		if f.drop {
			hj, _ := w.(http.Hijacker)
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		if f.code == "" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.status)
			_, _ = w.Write([]byte("<html>Service Unavailable</html>"))
			return
		}
		writeTestJSON(w, f.status, map[string]string{"error": f.code, "error_description": "scripted " + f.code})
		return
	}
	defer idp.mu.Unlock()
	if user, _, ok := r.BasicAuth(); r.PostForm.Get("client_id") != testClientID && (!ok || user != testClientID) {
		writeTestJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	switch grant {
	case deviceCodeGrant:
		d := idp.devices[r.PostForm.Get("device_code")]
		if d == nil {
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		if d.slowDowns > 0 {
			d.slowDowns--
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "slow_down"})
			return
		}
		switch d.state {
		case "pending":
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "authorization_pending"})
		case "denied":
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "access_denied", "error_description": "The end-user denied the request", "error_uri": "https://idp.example/errors#denied"})
		case "expired":
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "expired_token"})
		case "approved":
			d.state = "used"
			idp.issueLocked(w, true)
		default:
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		}
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !idp.refresh[rt] {
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Token is not active"})
			return
		}
		if idp.rotate {
			delete(idp.refresh, rt)
		}
		idp.issueLocked(w, !idp.noIDTokenOnRefresh)
	default:
		writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	}
}

// issueLocked answers a token request with new tokens.
func (idp *fakeIdP) issueLocked(w http.ResponseWriter, withIDToken bool) {
	idp.seq++
	now := idp.clk.Now()
	resp := map[string]any{
		"access_token": fmt.Sprintf("access-token-%d", idp.seq),
		"token_type":   "Bearer",
		"expires_in":   300,
	}
	if idp.jwtAccessToken {
		resp["access_token"] = makeJWT(map[string]any{"iss": idp.srv.URL, "sub": "user-1", "aud": "api", "exp": now.Add(10 * time.Minute).Unix(), "n": idp.seq})
	}
	if withIDToken {
		resp["id_token"] = makeJWT(map[string]any{"iss": idp.srv.URL, "sub": "user-1", "aud": testClientID, "exp": now.Add(idp.idTTL).Unix(), "iat": now.Unix(), "n": idp.seq})
	}
	if !idp.noRefreshToken {
		rt := "refresh-token-" + strconv.Itoa(idp.seq)
		idp.refresh[rt] = true
		resp["refresh_token"] = rt
	}
	writeTestJSON(w, http.StatusOK, resp)
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// promptRecorder is a Prompter that hands each prompt to the test.
type promptRecorder struct {
	ch chan Prompt
}

func newPromptRecorder() *promptRecorder { return &promptRecorder{ch: make(chan Prompt, 10)} }

func (r *promptRecorder) Prompt(_ context.Context, p Prompt) error {
	r.ch <- p
	return nil
}

// next returns the next prompt, failing the test after a while.
func (r *promptRecorder) next(t *testing.T) Prompt {
	t.Helper()
	select {
	case p := <-r.ch:
		return p
	case <-time.After(10 * time.Second): // a guard against a hang, never a wait the test relies on
		t.Fatal("no prompt")
		return Prompt{}
	}
}

// testCtx returns a context that ends with the test, or after 20 s.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type result struct {
	tok string
	exp time.Time
	err error
}

// tokenAsync calls src.Token in a goroutine.
func tokenAsync(ctx context.Context, src *Source) <-chan result {
	c := make(chan result, 1)
	go func() {
		tok, err := src.Token(ctx)
		c <- result{tok.Value, tok.Expiry, err}
	}()
	return c
}

// await returns the result, failing the test after a while.
func await(t *testing.T, c <-chan result) result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(15 * time.Second): // a guard against a hang
		t.Fatal("Token did not return")
		return result{}
	}
}

// waitTimer waits until the code under test sleeps on fake, and returns
// how long it sleeps for.
func waitTimer(t *testing.T, fake *clock.Fake) time.Duration {
	t.Helper()
	if err := fake.WaitForTimers(testCtx(t), 1); err != nil {
		t.Fatalf("WaitForTimers: %v", err)
	}
	next, _ := fake.NextDeadline()
	return next.Sub(fake.Now())
}

// fire advances fake to its next timer.
func fire(t *testing.T, fake *clock.Fake) time.Duration {
	t.Helper()
	d := waitTimer(t, fake)
	fake.Advance(d)
	return d
}

// newTestSource returns a Source on idp with a memory store, the fake
// clock, a prompt recorder, interactive.
func newTestSource(t *testing.T, idp *fakeIdP, clk clock.Clock, optFns ...func(*Options)) (*Source, *promptRecorder, *memStore) {
	t.Helper()
	rec := newPromptRecorder()
	store := newMemStore()
	fns := append([]func(*Options){func(o *Options) {
		o.Store = store
		o.HTTPClient = idp.srv.Client()
		o.Prompt = rec
		o.Interactive = true
	}}, optFns...)
	src, err := New(idp.issuer(), testClientID, fns...)
	if err != nil {
		t.Fatal(err)
	}
	src.clk = clk
	return src, rec, store
}

// autoAdvance fires, for the rest of the test, every timer the code under
// test sleeps on, by moving fake to the earliest deadline each time.
func autoAdvance(t *testing.T, fake *clock.Fake) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for fake.WaitForTimers(ctx, 1) == nil {
			if next, ok := fake.NextDeadline(); ok {
				fake.Set(next)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-finished })
}
