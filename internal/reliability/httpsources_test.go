package reliability

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/internal/testhook"
	"github.com/awsoidc/awsoidc/tokensource"
)

// A source kind is a token source that fetches its token at each refresh:
// an HTTP identity endpoint (served by an identityEndpoint that follows the
// provider's documented protocol) or a command.
const (
	kindGitHub     = "GitHub Actions"
	kindGCP        = "GCP metadata"
	kindIMDS       = "Azure IMDS"
	kindAppService = "Azure App Service"
	kindExec       = "exec"
)

// The URLs the sources are given (through their variables) or use on
// their own (IMDS). The test client dials the rig's endpoint whatever the
// address, so each is the real shape of the provider's URL.
const (
	githubURL     = "http://localhost/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/idtoken?api-version=2.0"
	githubName    = "http://localhost/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/idtoken"
	gcpHost       = "metadata.google.internal"
	gcpName       = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity"
	imdsName      = "http://169.254.169.254/metadata/identity/oauth2/token"
	appServiceURL = "http://localhost:42356/msi/token"
)

// sourceName is the Source and the URL (or program) that the error of a
// failed kind names: `tokensource: <source> "<URL>"`.
func sourceName(kind string) string {
	switch kind {
	case kindGitHub:
		return `tokensource: github-actions "` + githubName + `"`
	case kindGCP:
		return `tokensource: gcp "` + gcpName + `"`
	case kindIMDS:
		return `tokensource: azure "` + imdsName + `"`
	case kindAppService:
		return `tokensource: azure "` + appServiceURL + `"`
	}
	return `tokensource: exec "/bin/sh"`
}

// endpointMode is how the identity endpoint answers.
type endpointMode int32

const (
	answerToken   endpointMode = iota // 200 with a valid token, in the kind's format
	answer503                         // 503, the body echoing the request's secret header and a valid token
	answer429                         // 429 with Retry-After: 30, echoing as 503 does; signals arrived
	answerGarbage                     // 200 with an HTML page (a captive portal), echoing the secret header
	answerExpired                     // 200 with a token that expired a minute ago
	answerHang                        // no answer until the client gives up
)

// identityEndpoint is a local server speaking one kind's protocol: the
// path, the query and the header it requires, and the answer's format.
type identityEndpoint struct {
	r       *rig
	kind    string
	srv     *httptest.Server
	client  *http.Client
	secret  string // the bearer token (GitHub) or the identity header (App Service), else ""
	mode    atomic.Int32
	arrived chan struct{} // one per request held by answerHang or answered by answer429
	release chan struct{} // closed at cleanup: held requests end
}

// newIdentityEndpoint starts r's endpoint of kind, sets the variables the
// kind's source reads, and returns the endpoint and the source.
func newIdentityEndpoint(t *testing.T, r *rig, kind string) (*identityEndpoint, tokensource.Source) {
	t.Helper()
	e := &identityEndpoint{r: r, kind: kind, arrived: make(chan struct{}, 16), release: make(chan struct{})}
	if kind == kindGitHub || kind == kindAppService {
		e.secret = randomSecret(kind)
		r.sec.add(kind+" request secret", e.secret)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	addr := e.srv.Listener.Addr().String()
	transport := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr) // every host is this endpoint, even 169.254.169.254
	}}
	e.client = &http.Client{Transport: transport}
	t.Cleanup(func() {
		close(e.release)
		e.srv.Close()
		transport.CloseIdleConnections()
	})
	for _, k := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GCE_METADATA_HOST",
		"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID"} {
		t.Setenv(k, "")
	}
	withClient := func(o *tokensource.HTTPOptions) { o.Client = e.client }
	var src tokensource.Source
	switch kind {
	case kindGitHub:
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", githubURL)
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", e.secret)
		src = tokensource.GitHubActions("", withClient)
	case kindGCP:
		t.Setenv("GCE_METADATA_HOST", gcpHost)
		src = tokensource.GCP("", withClient)
	case kindIMDS:
		src = tokensource.Azure("", withClient)
	case kindAppService:
		t.Setenv("IDENTITY_ENDPOINT", appServiceURL)
		t.Setenv("IDENTITY_HEADER", e.secret)
		src = tokensource.Azure("", withClient)
	default:
		t.Fatalf("no endpoint for %s", kind)
	}
	testhook.SetClock(src, r.clk)
	return e, src
}

// randomSecret returns a secret header value as long as the real ones.
func randomSecret(kind string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%x", map[string]string{kindGitHub: "ghs", kindAppService: "idh"}[kind], b)
}

// set makes the endpoint answer in mode from now on.
func (e *identityEndpoint) set(m endpointMode) { e.mode.Store(int32(m)) }

// down closes the endpoint: connections are refused.
func (e *identityEndpoint) down() { e.srv.Close() }

// serve answers one request as the kind's provider documents it, or with
// the fault of the mode.
func (e *identityEndpoint) serve(w http.ResponseWriter, req *http.Request) {
	if msg := e.refuse(req); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	echo := func(status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		//nolint:gosec // G705: the fake endpoint echoes the secret on purpose: the test checks that it is scrubbed
		_, _ = fmt.Fprintf(w, `{"error":"unavailable","message":"no token for the request with %q; the last token issued was %s","token":%q}`,
			e.secretHeader(req), e.r.mint(0), e.r.mint(time.Hour))
	}
	switch endpointMode(e.mode.Load()) {
	case answer503:
		echo(http.StatusServiceUnavailable)
	case answer429:
		select {
		case e.arrived <- struct{}{}:
		default:
		}
		w.Header().Set("Retry-After", "30")
		echo(http.StatusTooManyRequests)
	case answerGarbage:
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprintf(w, "<html><body>Sign in to continue\n<!-- %s --></body></html>\n", e.secretHeader(req)) //nolint:gosec // G705: echoed on purpose, as above
	case answerHang:
		select {
		case e.arrived <- struct{}{}:
		default:
		}
		select {
		case <-req.Context().Done():
		case <-e.release:
		}
	case answerExpired:
		e.answer(w, -time.Minute)
	default:
		e.answer(w, time.Hour)
	}
}

// refuse checks the request against the kind's protocol and says what is
// wrong, or returns "".
func (e *identityEndpoint) refuse(req *http.Request) string {
	q := req.URL.Query()
	switch e.kind {
	case kindGitHub:
		if req.Header.Get("Authorization") != "bearer "+e.secret || q.Get("audience") != "sts.amazonaws.com" || q.Get("api-version") != "2.0" {
			return "want the bearer token, the audience and the runner's api-version"
		}
	case kindGCP:
		if req.Header.Get("Metadata-Flavor") != "Google" || q.Get("audience") != "sts.amazonaws.com" || q.Get("format") != "full" {
			return "want Metadata-Flavor: Google, the audience and format=full"
		}
	case kindIMDS:
		if req.Header.Get("Metadata") != "true" || q.Get("resource") != "api://AzureADTokenExchange" || q.Get("api-version") != "2018-02-01" {
			return "want Metadata: true, the resource and api-version 2018-02-01"
		}
	case kindAppService:
		if req.Header.Get("X-Identity-Header") != e.secret || q.Get("resource") != "api://AzureADTokenExchange" || q.Get("api-version") != "2019-08-01" {
			return "want X-IDENTITY-HEADER, the resource and api-version 2019-08-01"
		}
	}
	return ""
}

// secretHeader is the value of the request header that carries a secret.
func (e *identityEndpoint) secretHeader(req *http.Request) string {
	if e.kind == kindAppService {
		return req.Header.Get("X-Identity-Header")
	}
	return req.Header.Get("Authorization")
}

// answer writes a token valid for valid (negative: expired) in the kind's
// format.
func (e *identityEndpoint) answer(w http.ResponseWriter, valid time.Duration) {
	tok := e.r.mint(valid)
	switch e.kind {
	case kindGitHub:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"value": tok})
	case kindGCP:
		w.Header().Set("Content-Type", "text/html") // as the metadata server sends it
		_, _ = w.Write([]byte(tok))
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": tok, "expires_on": strconv.FormatInt(e.r.clk.Now().Add(valid).Unix(), 10),
			"resource": "api://AzureADTokenExchange", "token_type": "Bearer",
		})
	}
}

// waitHeld blocks until a request is held by answerHang.
func (e *identityEndpoint) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-e.arrived:
	case <-time.After(guard):
		t.Fatalf("no request reached the %s endpoint within %s", e.kind, guard)
	}
}

// newExecSource writes a script that prints the rig's token file, or, once
// the file "fail" exists beside it, prints the token on stderr and exits 3
// (a CLI that quotes what it got in its error), and returns Exec of it.
func newExecSource(t *testing.T, r *rig) tokensource.Source {
	t.Helper()
	script := filepath.Join(r.dir, "token-cmd")
	body := fmt.Sprintf("if [ -e %q ]; then echo \"error: the issuer refused $(cat %q)\" >&2; exit 3; fi\ncat %q\n",
		filepath.Join(r.dir, "fail"), r.path, r.path)
	if err := os.WriteFile(script, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return tokensource.Exec([]string{"/bin/sh", script})
}

// sourceRows are the matrix rows of the sources that fetch a token at each
// refresh: each fault of the identity endpoint, for each HTTP source, and
// a failing command for Exec.
func sourceRows() []row {
	const hintDeadline = "the deadline passed before the token source answered"
	kept := outcome{ok: true, kept: true}
	var rows []row
	for _, kind := range []string{kindGitHub, kindGCP, kindIMDS, kindAppService} {
		name := sourceName(kind)
		opts := rigOptions{source: kind}
		mode := func(m endpointMode) func(*testing.T, *rig, phase) {
			return func(_ *testing.T, r *rig, _ phase) { r.idp.set(m) }
		}
		rows = append(rows,
			row{stage: kind, fault: "identity endpoint down (connection refused)", opts: opts,
				inject: func(_ *testing.T, r *rig, _ phase) { r.idp.down() },
				cold:   outcome{as: new(*tokensource.Error), class: "token-source", hint: name + ": dial tcp"}, warm: kept},
			row{stage: kind, fault: "identity endpoint hangs; cache refresh timeout (1 min, fake clock)", opts: opts,
				inject: mode(answerHang),
				during: func(t *testing.T, r *rig, _ int) { r.idp.waitHeld(t); r.clk.Advance(time.Minute) },
				cold:   outcome{is: context.DeadlineExceeded, as: new(*tokensource.Error), class: "canceled", hint: hintDeadline}, warm: kept,
				note: "warm: served after MaxWait (1 s)"},
			row{stage: kind, fault: "503 echoing the request's secret and tokens", opts: opts, inject: mode(answer503),
				cold: outcome{as: new(*tokensource.StatusError), class: "token-source", hint: name + ": HTTP 503 Service Unavailable"}, warm: kept,
				check: endpointRecovers, note: "then up: the cache's next attempt (1 s) succeeds"},
			row{stage: kind, fault: "429 with Retry-After: 30, then up", opts: opts, inject: mode(answer429),
				during: retryAfterThenUp, check: servedAfterRetryAfter,
				cold: outcome{ok: true, calls: 1}, warm: kept,
				note: "the provider retries after 30 s of fake time; warm: served after MaxWait (1 s), then refreshed"},
			row{stage: kind, fault: "malformed answer (an HTML page)", opts: opts, inject: mode(answerGarbage),
				cold: outcome{is: tokensource.ErrMalformed, class: "token-source", hint: name + ": not a token"}, warm: kept},
			row{stage: kind, fault: "expired token answered", opts: opts, inject: mode(answerExpired),
				cold: outcome{class: "token-source", hint: name + ": token expired at"}, warm: kept,
				note: "refused before STS"},
		)
	}
	return append(rows, row{stage: kindExec, fault: "command fails, prints the token on stderr", opts: rigOptions{source: kindExec},
		inject: func(t *testing.T, r *rig, _ phase) {
			if err := os.WriteFile(filepath.Join(r.dir, "fail"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		cold: outcome{as: new(*tokensource.Error), class: "token-source", hint: sourceName(kindExec) + ": the command failed (exit status 3): error: the issuer refused"},
		warm: kept, note: "stderr quoted, the token scrubbed"})
}

// endpointRecovers brings the identity endpoint back and checks that the
// cache's next attempt, after its 1 s backoff, gets new credentials.
func endpointRecovers(t *testing.T, r *rig, ph phase) {
	r.idp.set(answerToken)
	recoversAfterBackoff(t, r, ph)
}

// retryAfterThenUp waits for the endpoint's 429 and brings it up, then for
// the provider's wait of the answer's Retry-After (30 s), and moves the
// fake clock: cold, by the 30 s, so the provider's retry gets a token; warm,
// by MaxWait (1 s) only, so the caller is served the cached credentials
// while the refresh still waits (servedAfterRetryAfter ends that wait).
func retryAfterThenUp(t *testing.T, r *rig, _ int) {
	t.Helper()
	r.idp.waitHeld(t)
	r.idp.set(answerToken)
	_, warm := r.lastEvent()
	r.waitProviderWait(t, retryAfterWait)
	if warm {
		r.clk.Advance(time.Second)
		return
	}
	r.clk.Advance(retryAfterWait)
}

// retryAfterWait is the Retry-After of answer429.
const retryAfterWait = 30 * time.Second

// servedAfterRetryAfter checks, warm, that the refresh that met the 429
// ends once its Retry-After has passed: with one STS call and new
// credentials.
func servedAfterRetryAfter(t *testing.T, r *rig, ph phase) {
	t.Helper()
	if ph == cold {
		return
	}
	base := r.s.calls()
	r.clk.Advance(retryAfterWait - time.Second)
	r.waitEvents(2)
	if ev, _ := r.lastEvent(); ev.Err != nil {
		t.Errorf("warm: the refresh after the Retry-After failed: %v", ev.Err)
	}
	if n := r.s.calls() - base; n != 1 {
		t.Errorf("warm: %d STS calls after the Retry-After, want 1", n)
	}
}
