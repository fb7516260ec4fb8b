package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/ststest"
)

// fetchArgs returns cmd followed by the flags of a credential command whose
// token comes from extra (a --token-source and its flags), not a file.
func (f *fixture) fetchArgs(cmd string, extra ...string) []string {
	return append([]string{cmd, "--role-arn", f.role, "--endpoint-url", f.srv.URL(), "--cache-dir", f.cacheDir}, extra...)
}

// processCallerARN runs the binary as the SDK's credential_process
// provider does, signs a GetCallerIdentity with the credentials, which
// ststest verifies, and returns the caller's ARN.
func (f *fixture) processCallerARN(t *testing.T, env []string, args ...string) string {
	t.Helper()
	p := processcreds.NewProviderCommand(processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		return cmd, nil
	}))
	out, err := sts.NewFromConfig(f.srv.Config(aws.NewCredentialsCache(p))).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with credential-process credentials: %v", err)
	}
	return aws.ToString(out.Arn)
}

// githubActions is a GitHub Actions ID token endpoint, as GitHub documents
// it: GET the request URL with &audience=..., "Authorization: bearer" and
// the request token, answered with {"value": "<JWT>"}.
type githubActions struct {
	srv          *httptest.Server
	requestToken string
	token        string
	calls        atomic.Int32
	audiences    chan string
	hang         atomic.Bool            // the endpoint accepts requests and never answers
	other        atomic.Pointer[string] // when set, the token served instead of token
}

func newGitHubActions(t *testing.T, token string) *githubActions {
	g := &githubActions{requestToken: "ghs_requestTokenOfTheRunner0123456789", token: token, audiences: make(chan string, 100)}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls.Add(1)
		if g.hang.Load() {
			<-r.Context().Done()
			return
		}
		if r.Header.Get("Authorization") != "bearer "+g.requestToken && r.Header.Get("Authorization") != "Bearer "+g.requestToken {
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "the request URL's own query was lost", http.StatusBadRequest)
			return
		}
		g.audiences <- r.URL.Query().Get("audience")
		w.Header().Set("Content-Type", "application/json")
		tok := g.token
		if o := g.other.Load(); o != nil {
			tok = *o
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"value": tok})
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *githubActions) env() []string {
	return []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + g.srv.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + g.requestToken}
}

// TestTokenSourceGitHubActions runs credential-process --token-source
// github-actions as the SDK's credential_process, against a GitHub Actions
// token endpoint that serves an ststest token; ststest verifies the
// SigV4 signature made with the credentials.
func TestTokenSourceGitHubActions(t *testing.T) {
	f := newFixture(t)
	g := newGitHubActions(t, f.token)
	env := f.env(g.env()...)
	arn := f.processCallerARN(t, env, f.fetchArgs("credential-process", "--token-source", "github-actions")...)
	if !strings.Contains(arn, ":assumed-role/cli-test/") {
		t.Errorf("caller ARN = %q, want an assumed-role session of cli-test", arn)
	}
	if aud := <-g.audiences; aud != "sts.amazonaws.com" {
		t.Errorf("audience = %q, want sts.amazonaws.com", aud)
	}
	// --audience goes to the request.
	r := f.run(env, f.fetchArgs("credential-process", "--token-source", "github-actions", "--audience", "https://github.com/my-org")...)
	if aud := <-g.audiences; aud != "https://github.com/my-org" {
		t.Errorf("audience = %q, want https://github.com/my-org (exit %d, %s)", aud, r.code, r.stderr)
	}
	// Without the variables (a job without "id-token: write"), the error
	// says which are missing, and leaks nothing.
	r = f.run(f.env(), f.fetchArgs("credential-process", "--token-source", "github-actions", "--no-cache")...)
	if r.code != 1 || !strings.Contains(r.stderr, "ACTIONS_ID_TOKEN_REQUEST") {
		t.Errorf("without the variables: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, res := range []result{r} {
		assertNoSecrets(t, "output", res.stdout+res.stderr, f.token, g.requestToken)
	}
}

// TestTokenSourceExec runs credential-process --token-exec as the SDK's
// credential_process: the command runs again at each call, and its token
// is traded with ststest.
func TestTokenSourceExec(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "get token.sh") // a space, quoted below
	writeTestFile(t, script, `echo run >> "$1"; printf '{"token": "%s"}' "$(cat "$2")"`)
	cmdline := `sh '` + script + `' ` + runs + ` "` + f.tokenFile + `"`
	for _, args := range [][]string{
		f.fetchArgs("credential-process", "--token-exec", cmdline),
		f.fetchArgs("credential-process", "--token-source", "exec", "--token-exec", cmdline),
	} {
		arn := f.processCallerARN(t, f.env(), args...)
		if !strings.Contains(arn, ":assumed-role/cli-test/") {
			t.Errorf("caller ARN = %q, want an assumed-role session of cli-test", arn)
		}
	}
	b, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "run"); n != 2 {
		t.Errorf("the command ran %d times for 2 calls, want 2", n)
	}
	// The second call is served from the store: the same identity.
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
	}
}

// TestTokenSourceExecFailure: a command that fails with the token on its
// stderr is reported with its exit status and its stderr, scrubbed.
func TestTokenSourceExecFailure(t *testing.T) {
	f := newFixture(t)
	script := filepath.Join(t.TempDir(), "fail.sh")
	writeTestFile(t, script, `cat "$1"; echo "denied for $(cat "$1")" >&2; echo "ask the admin" >&2; exit 7`)
	r := f.run(f.env(), f.fetchArgs("credential-process", "--token-exec", "sh "+script+" "+f.tokenFile)...)
	if r.code != 1 || !strings.Contains(r.stderr, "exit status 7") || !strings.Contains(r.stderr, "ask the admin") || !strings.Contains(r.stderr, "--token-source exec") {
		t.Errorf("exit %d, stderr %q; want exit 1 naming --token-source exec, the status and the stderr", r.code, r.stderr)
	}
	for _, p := range strings.Split(f.token, ".") {
		assertNoSecrets(t, "output", r.stdout+r.stderr, p)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
	}
}

// TestTokenSourceFlagErrors checks the combinations of the source flags:
// each refusal names its flag and the rule, before any network call.
func TestTokenSourceFlagErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown source", []string{"--token-source", "gitlab"}, []string{`invalid --token-source "gitlab": must be one of github-actions, gcp, azure, spiffe, exec, file, env, auto`}},
		{"source and file", []string{"--token-source", "gcp", "--token-file", f.tokenFile}, []string{`invalid --token-source "gcp": cannot be used with --token-file`}},
		{"source and env", []string{"--token-source", "github-actions", "--token-env", "TOKEN"}, []string{`invalid --token-source "github-actions": cannot be used with --token-env`}},
		{"source and issuer", []string{"--token-source", "auto", "--issuer", "https://idp.example", "--client-id", "c"}, []string{`invalid --token-source "auto": cannot be used with --issuer`}},
		{"source and exec", []string{"--token-source", "spiffe", "--token-exec", "get-token"}, []string{`invalid --token-source "spiffe": cannot be used with --token-exec`}},
		{"file and exec", []string{"--token-file", f.tokenFile, "--token-exec", "get-token"}, []string{"--token-file and --token-exec cannot be used together"}},
		{"exec without command", []string{"--token-source", "exec"}, []string{`invalid --token-source "exec": needs --token-exec COMMAND`}},
		{"env without variable", []string{"--token-source", "env"}, []string{`invalid --token-source "env": needs --token-env NAME`}},
		{"empty command", []string{"--token-exec", "  "}, []string{"invalid --token-exec: must name a command"}},
		{"shell syntax", []string{"--token-exec", "get-token | jq -r .token"}, []string{"invalid --token-exec: `|` needs a shell"}},
		{"empty program", []string{"--token-exec", "'' --audience sts.amazonaws.com"}, []string{"invalid --token-exec: its first word, the program, is empty"}},
		{"program not in PATH", []string{"--token-exec", "no-such-token-command-r2 --audience a"}, []string{"invalid --token-exec: its first word, the program, is not an executable file in PATH"}},
		{"program not at its path", []string{"--token-exec", "/nonexistent/get-token"}, []string{"invalid --token-exec: its first word, the program, is not an executable file at the path it gives"}},
		{"unclosed quote", []string{"--token-exec", "get-token 'x"}, []string{"invalid --token-exec: a single quote is not closed"}},
		{"audience with a file", []string{"--token-file", f.tokenFile, "--audience", "sts.amazonaws.com"}, []string{`invalid --audience "sts.amazonaws.com": only applies to --token-source github-actions, gcp, azure, spiffe, auto`}},
		{"audience with exec", []string{"--token-source", "exec", "--token-exec", "x", "--audience", "a"}, []string{`invalid --audience "a": only applies to`}},
		{"empty audience", []string{"--token-source", "gcp", "--audience", " "}, []string{"invalid --audience: must not be empty"}},
		{"audience with a space", []string{"--token-source", "gcp", "--audience", "a b"}, []string{`invalid --audience "a b": must not contain whitespace`}},
		{"prompt with a fetched source", []string{"--token-source", "gcp", "--allow-prompt"}, []string{"invalid --allow-prompt: only applies to a device-flow login"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range []string{"credential-process", "env", "doctor"} {
				r := f.run(f.env(), f.fetchArgs(cmd, tc.args...)...)
				if r.code == 0 {
					t.Fatalf("%s: exit 0", cmd)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr+r.stdout, w) {
						t.Errorf("%s: output does not say %q:\n%s%s", cmd, w, r.stdout, r.stderr)
					}
				}
			}
			if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
				t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
			}
		})
	}
}

// TestTokenFileAloneMeansFile: --token-file without --token-source, and
// with --token-source file, read the file as before.
func TestTokenFileAloneMeansFile(t *testing.T) {
	f := newFixture(t)
	for _, extra := range [][]string{nil, {"--token-source", "file"}} {
		r := f.run(f.env(), append(f.args("credential-process"), extra...)...)
		if r.code != 0 {
			t.Errorf("%q: exit %d, %s", extra, r.code, r.stderr)
		}
	}
	r := f.run(f.env("TOKEN="+f.token), f.fetchArgs("credential-process", "--token-source", "env", "--token-env", "TOKEN")...)
	if r.code != 0 {
		t.Errorf("--token-source env --token-env: exit %d, %s", r.code, r.stderr)
	}
}

// TestDoctorTokenSource: doctor says which source it read the token from.
func TestDoctorTokenSource(t *testing.T) {
	f := newFixture(t)
	g := newGitHubActions(t, f.token)
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{g.env(), []string{"--token-source", "github-actions"}, "--token-source github-actions"},
		{g.env(), []string{"--token-source", "github-actions", "--audience", "sts.amazonaws.com"}, "--token-source github-actions, --audience sts.amazonaws.com"},
		{nil, []string{"--token-exec", "cat " + f.tokenFile}, "--token-source exec (cat)"},
		{g.env(), []string{"--token-source", "auto"}, "--token-source auto: github-actions"},
	} {
		r := f.run(f.env(tc.env...), f.fetchArgs("doctor", append(tc.args, "--format", "json")...)...)
		var results []checkResult
		if err := json.Unmarshal([]byte(r.stdout), &results); err != nil || len(results) == 0 {
			t.Fatalf("%q: %v; stdout %q stderr %q", tc.args, err, r.stdout, r.stderr)
		}
		if got := results[0]; got.Status != statusOK || !strings.HasPrefix(got.Detail, tc.want) {
			t.Errorf("%q: first check %+v, want OK starting %q", tc.args, got, tc.want)
		}
		assertNoSecrets(t, "doctor output", r.stdout+r.stderr, f.token, g.requestToken)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTokenSourceExecKeyedByIdentity: the credentials a fetched source's
// token obtained are stored under its identity. The next call, whose
// command prints another identity's token (the next CI job), is not served
// them; a token of the first identity again is.
func TestTokenSourceExecKeyedByIdentity(t *testing.T) {
	f := newFixture(t)
	other := f.srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:ci:another-job"})
	current := filepath.Join(t.TempDir(), "current")
	cmdline := "cat " + current
	for i, tc := range []struct {
		token     string
		wantCalls int
	}{{f.token, 1}, {other, 2}, {f.token, 2}} {
		writeTestFile(t, current, tc.token)
		out := processJSON(t, f.mustRun(f.env(), f.fetchArgs("credential-process", "--token-exec", cmdline)...).stdout)
		if out.AccessKeyID == "" {
			t.Fatalf("call %d: no credentials", i+1)
		}
		if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != tc.wantCalls {
			t.Errorf("after call %d: AssumeRoleWithWebIdentity calls = %d, want %d", i+1, n, tc.wantCalls)
		}
	}
}

// TestTokenSourceAutoVerbose: with --verbose, --token-source auto says
// which source it picked and why each source before it was passed over,
// without any token or request token.
func TestTokenSourceAutoVerbose(t *testing.T) {
	f := newFixture(t)
	g := newGitHubActions(t, f.token)
	r := f.run(f.env(g.env()...), f.fetchArgs("credential-process", "--token-source", "auto", "--verbose")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"token source not detected", "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
		"detected a token source", "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are set",
		"auto: github-actions", "source=spiffe reason=\"SPIFFE_ENDPOINT_SOCKET is not set\"",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	assertNoSecrets(t, "--verbose output", r.stdout+r.stderr, f.token, g.requestToken)
}

// TestTokenExecValueNotEchoed: a token given to --token-exec by mistake
// (meant for --token-env) appears in no output, whatever its form and
// length, with or without --verbose.
func TestTokenExecValueNotEchoed(t *testing.T) {
	f := newFixture(t)
	for _, secret := range []string{f.token, "hvs.CAESIJ0pFakeVaultToken0123456789abcdefGHIJ", "ghs_0123456789abcdefghijABCDEFGHIJ012345"} {
		for _, extra := range [][]string{nil, {"--verbose"}} {
			for _, cmd := range []string{"credential-process", "env", "doctor"} {
				r := f.run(f.env(), f.fetchArgs(cmd, append([]string{"--token-exec", secret}, extra...)...)...)
				if r.code == 0 {
					t.Fatalf("%s %q: exit 0", cmd, extra)
				}
				assertNoSecrets(t, cmd+" output", r.stdout+r.stderr, secret)
				if !strings.Contains(r.stdout+r.stderr, "--token-exec") {
					t.Errorf("%s: the error does not name --token-exec:\n%s%s", cmd, r.stdout, r.stderr)
				}
			}
		}
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
	}
}

// TestTokenSourceAutoNothingFound: when --token-source auto finds no
// source, the error lists every source it tried, SPIFFE included, and says
// how to name one.
func TestTokenSourceAutoNothingFound(t *testing.T) {
	f := newFixture(t)
	r := f.run(f.env(), f.fetchArgs("credential-process", "--token-source", "auto", "--timeout", "5s")...)
	if r.code == 0 || strings.Contains(r.stderr, "awsoidc: web identity token of") {
		t.Skipf("this machine has an ambient identity (a cloud metadata server answered): %s", r.stderr)
	}
	for _, want := range []string{
		"--token-source auto: spiffe: SPIFFE_ENDPOINT_SOCKET is not set;",
		"file: AWS_WEB_IDENTITY_TOKEN_FILE is not set", "github-actions: ACTIONS_ID_TOKEN_REQUEST_URL is not set", "gcp: ", "azure-imds: ",
		"name the source with --token-source github-actions|gcp|azure|spiffe|exec",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
	}
}
