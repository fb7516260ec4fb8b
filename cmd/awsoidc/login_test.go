package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/ststest"
)

const testClientID = "awsoidc-cli-test"

// deviceFixture is a fixture whose server has a device-flow client, and a
// role that trusts the client's ID tokens.
func newDeviceFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t)
	f.srv.AddClient(ststest.Client{ID: testClientID})
	role := f.srv.AddRole(ststest.Role{Name: "device-user", Audience: testClientID, Subject: "alice"})
	return f, role
}

func (f *fixture) deviceArgs(cmd string, extra ...string) []string {
	return append([]string{cmd, "--issuer", f.srv.Issuer(), "--client-id", testClientID, "--cache-dir", f.cacheDir}, extra...)
}

// userCode reads the user code of the prompt from the process's stderr.
func (p *proc) userCode(ctx context.Context) (string, error) {
	if err := p.waitLine(ctx, "and enter the code:"); err != nil {
		return "", err
	}
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return "", context.Canceled
			}
			if code := strings.TrimSpace(line); code != "" {
				return code, nil
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// login runs "awsoidc login", reads the user code it prints on stderr and
// approves it as alice, and returns the login's stderr.
func (f *fixture) login(t *testing.T, extra ...string) string {
	t.Helper()
	return f.loginAs(t, "alice", extra...)
}

// loginAs is login, approved as subject.
func (f *fixture) loginAs(t *testing.T, subject string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// The first poll of the token endpoint waits until the code is
	// approved: no polling interval passes in real time.
	release := f.srv.Hold(ststest.ActionToken)
	defer release()
	p := f.start(f.env(), f.deviceArgs("login", extra...)...)
	code, err := p.userCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Approve(code, subject); err != nil {
		t.Fatalf("approving %q: %v", code, err)
	}
	release()
	if exit := p.wait(); exit != 0 {
		t.Fatalf("login: exit %d\n%s", exit, p.errText())
	}
	return p.errText()
}

// storedTokens returns every token value in the token store.
func storedTokens(t *testing.T, cacheDir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(tokensDir(cacheDir), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no token files in %s: %v", tokensDir(cacheDir), err)
	}
	var out []string
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			if s, ok := v.(string); ok && strings.Contains(k, "token") && len(s) > 20 {
				out = append(out, s)
			}
		}
	}
	if len(out) < 2 {
		t.Fatalf("found %d tokens in the store, want an ID token and a refresh token at least", len(out))
	}
	return out
}

// TestLoginCredentialProcessLogout logs in with scripted approval, gets
// credentials from the stored login without a prompt, and logs out.
func TestLoginCredentialProcessLogout(t *testing.T) {
	f, role := newDeviceFixture(t)
	loginErr := f.login(t)
	if !strings.Contains(loginErr, "logged in to "+f.srv.Issuer()) {
		t.Errorf("login did not report success:\n%s", loginErr)
	}
	tokens := storedTokens(t, f.cacheDir)
	assertNoSecrets(t, "login's stderr", loginErr, tokens...)

	args := f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL(), "--verbose")
	r := f.mustRun(f.env(), args...)
	creds := processJSON(t, r.stdout)
	sessions := f.srv.Sessions()
	if len(sessions) != 1 || sessions[0].Subject != "alice" || sessions[0].RoleARN != role {
		t.Fatalf("sessions = %+v, want one of %s for alice", sessions, role)
	}
	if n := f.srv.Calls(ststest.ActionDeviceAuthorization); n != 1 {
		t.Errorf("device authorizations = %d, want 1 (the login's)", n)
	}
	r2 := f.mustRun(f.env(), args...)
	if processJSON(t, r2.stdout).AccessKeyID != creds.AccessKeyID {
		t.Errorf("warm call printed other credentials")
	}
	assertNoSecrets(t, "credential-process stderr", r.stderr+r2.stderr, append(tokens, creds.SecretAccessKey, creds.SessionToken)...)

	r = f.mustRun(f.env(), f.deviceArgs("logout")...)
	if !strings.Contains(r.stderr, "logged out of "+f.srv.Issuer()) || !strings.Contains(r.stderr, "removed 1 stored credential set") {
		t.Errorf("logout said:\n%s", r.stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(tokensDir(f.cacheDir), "*.json")); len(files) != 0 {
		t.Errorf("token files left after logout: %v", files)
	}
	if files, _ := filepath.Glob(filepath.Join(credentialsDir(f.cacheDir), "*.json")); len(files) != 0 {
		t.Errorf("credential files left after logout: %v", files)
	}

	// Now credential-process needs a login, and says how to do it,
	// without prompting and without calling STS.
	assumes := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
	r = f.run(f.env(), args...)
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "login required") || !strings.Contains(r.stderr, `run "awsoidc login --issuer `+f.srv.Issuer()) {
		t.Errorf("after logout: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != assumes {
		t.Errorf("after logout, credential-process called STS")
	}
	if n := f.srv.Calls(ststest.ActionDeviceAuthorization); n != 1 {
		t.Errorf("credential-process without --allow-prompt started a device login")
	}
}

// TestLoginDenied checks that a denied login fails with exit status 1.
func TestLoginDenied(t *testing.T) {
	f, _ := newDeviceFixture(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	release := f.srv.Hold(ststest.ActionToken)
	defer release()
	p := f.start(f.env(), f.deviceArgs("login")...)
	code, err := p.userCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Deny(code); err != nil {
		t.Fatal(err)
	}
	release()
	if exit := p.wait(); exit != exitError || !strings.Contains(p.errText(), "denied") {
		t.Errorf("denied login: exit %d\n%s", exit, p.errText())
	}
}

// TestCredentialProcessAllowPromptWithoutTerminal runs credential-process
// --allow-prompt without a controlling terminal, as a daemon or CI runs
// the AWS CLI: nobody can see a prompt, so it fails at once with the login
// to run, without starting a device authorization.
func TestCredentialProcessAllowPromptWithoutTerminal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs setsid to run without a controlling terminal")
	}
	f, role := newDeviceFixture(t)
	p := f.startDetached(f.env(), f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL(), "--allow-prompt")...)
	if exit := p.wait(); exit != exitError || !strings.Contains(p.errText(), `run "awsoidc login --issuer `) {
		t.Fatalf("exit %d, want 1 and the login to run\n%s", exit, p.errText())
	}
	if n := f.srv.Calls(ststest.ActionDeviceAuthorization); n != 0 {
		t.Errorf("device authorizations = %d, want 0", n)
	}
}

// TestCredentialProcessAllowPromptOnTerminal starts a device login from
// credential-process on a terminal (util-linux script(1) gives it one),
// as when the AWS CLI runs it in a person's shell while capturing its
// stderr: the prompt goes to /dev/tty, at once.
func TestCredentialProcessAllowPromptOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil || runtime.GOOS != "linux" {
		t.Skip("needs util-linux script(1) for a terminal")
	}
	f, role := newDeviceFixture(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args := f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL(), "--allow-prompt")
	line := shQuote(bin)
	for _, a := range args {
		line += " " + shQuote(a)
	}
	line += " 2>/dev/null" // the AWS CLI captures stderr: the prompt must not need it
	cmd := exec.CommandContext(ctx, script, "-qfec", line, "/dev/null")
	cmd.Env = f.env()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var code string
	for code == "" && sc.Scan() {
		if strings.Contains(sc.Text(), "and enter the code:") {
			for code == "" && sc.Scan() {
				code = strings.TrimSpace(sc.Text())
			}
		}
	}
	if code == "" {
		_ = cmd.Wait()
		t.Fatal("no user code on the terminal")
	}
	if err := f.srv.Approve(code, "alice"); err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("credential-process on a terminal: %v\n%s", err, rest.String())
	}
	text := strings.ReplaceAll(rest.String(), "\r", "")
	i, j := strings.Index(text, "{"), strings.LastIndex(text, "}")
	if i < 0 || j < i {
		t.Fatalf("no credentials JSON on the terminal:\n%s", text)
	}
	processJSON(t, text[i:j+1])
	// The login is stored: the next call needs no prompt.
	f.mustRun(f.env(), f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL(), "--no-cache")...)
	if n := f.srv.Calls(ststest.ActionDeviceAuthorization); n != 1 {
		t.Errorf("device authorizations = %d, want 1", n)
	}
}

// startDetached is start in a new session, without a controlling terminal.
func (f *fixture) startDetached(env []string, args ...string) *proc {
	return f.startWith(func(attr *syscall.SysProcAttr) { setsid(attr) }, env, args...)
}

// TestLoginHintCacheDir checks the hint of a login required: it names
// --cache-dir only when the command was given one, so that the login it
// suggests stores its tokens where the command looks for them.
func TestLoginHintCacheDir(t *testing.T) {
	f, role := newDeviceFixture(t)
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	args := []string{"credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL(), "--issuer", f.srv.Issuer(), "--client-id", testClientID}
	hint := `run "awsoidc login --issuer ` + f.srv.Issuer() + ` --client-id ` + testClientID
	r := runInProcess(t, env, args...)
	if r.code != exitError || !strings.Contains(r.stderr, hint+`"`) {
		t.Errorf("without --cache-dir: exit %d, want the hint %s\"; stderr:\n%s", r.code, hint, r.stderr)
	}
	r = runInProcess(t, env, append(args, "--cache-dir", f.cacheDir)...)
	if r.code != exitError || !strings.Contains(r.stderr, hint+` --cache-dir `+f.cacheDir+`"`) {
		t.Errorf("with --cache-dir: exit %d, want the hint with --cache-dir %s; stderr:\n%s", r.code, f.cacheDir, r.stderr)
	}
}

// TestLoginDropsStoredCredentials logs in as alice, gets credentials, then
// logs in as bob with the same issuer and client: the next credentials must
// be bob's, not alice's from the store.
func TestLoginDropsStoredCredentials(t *testing.T) {
	f, _ := newDeviceFixture(t)
	role := f.srv.AddRole(ststest.Role{Name: "any-user", Audience: testClientID})
	args := f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL())
	f.loginAs(t, "alice")
	f.mustRun(f.env(), args...)
	out := f.loginAs(t, "bob")
	if !strings.Contains(out, "removed 1 stored credential set") {
		t.Errorf("login did not report the removed credentials:\n%s", out)
	}
	f.mustRun(f.env(), args...)
	sessions := f.srv.Sessions()
	if len(sessions) != 2 || sessions[1].Subject != "bob" {
		t.Fatalf("sessions = %+v, want alice's then bob's", sessions)
	}
}

// TestLoginScopesAreApart logs in with extra scopes: the commands with the
// same --scope use that login, the commands without it need their own (and
// say so), and logout without --scope forgets it all the same.
func TestLoginScopesAreApart(t *testing.T) {
	f, role := newDeviceFixture(t)
	const scopes = "openid,offline_access,profile"
	f.login(t, "--scope", scopes)
	args := f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL())
	f.mustRun(f.env(), append(args, "--scope", scopes)...)
	r := f.run(f.env(), args...)
	hint := `run "awsoidc login --issuer ` + f.srv.Issuer() + ` --client-id ` + testClientID + ` --cache-dir ` + f.cacheDir + `"`
	if r.code != exitError || !strings.Contains(r.stderr, "login required") || !strings.Contains(r.stderr, hint) {
		t.Errorf("without --scope: exit %d, want a login required and %s; stderr:\n%s", r.code, hint, r.stderr)
	}
	r = f.run(f.env(), append(args, "--scope", "openid,email", "--use-access-token")...)
	hint = `run "awsoidc login --issuer ` + f.srv.Issuer() + ` --client-id ` + testClientID + ` --scope openid,email --use-access-token --cache-dir ` + f.cacheDir + `"`
	if r.code != exitError || !strings.Contains(r.stderr, hint) {
		t.Errorf("with other flags: exit %d, want %s; stderr:\n%s", r.code, hint, r.stderr)
	}
	f.mustRun(f.env(), f.deviceArgs("logout")...)
	if files, _ := filepath.Glob(filepath.Join(tokensDir(f.cacheDir), "*.json")); len(files) != 0 {
		t.Errorf("token files left after logout without --scope: %v", files)
	}
}

// lsla returns what ls -la shows of dir, for the test log.
func lsla(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("ls", "-la", dir).CombinedOutput()
	if err != nil {
		var b strings.Builder
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			b.WriteString(de.Name() + "\n")
		}
		return b.String()
	}
	return string(out)
}

// leftoverTemps creates, next to each store file in dir, the temporary file
// a process killed while it saved that file would have left (same name
// pattern, a copy of the secret), and one of a file never saved. It
// returns their paths.
func leftoverTemps(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no store files in %s: %v", dir, err)
	}
	var temps []string
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		temps = append(temps, filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", filepath.Base(file), 2934871+i)))
		if err := os.WriteFile(temps[len(temps)-1], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	never := filepath.Join(dir, "."+strings.Repeat("0f", 16)+".json.17.tmp")
	if err := os.WriteFile(never, []byte(`{"refresh_token":"never-renamed"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(temps, never)
}

// TestLogoutRemovesLeftoverTemps plants, in the token and credential
// stores, the temporary files of writers killed between write and rename:
// logout --all, and logout of one login, remove them and say how many.
func TestLogoutRemovesLeftoverTemps(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(f *fixture) []string
		want string
	}{
		{"all", func(f *fixture) []string { return []string{"logout", "--all", "--cache-dir", f.cacheDir} },
			"removed 1 stored login(s) and 1 stored credential set(s)"},
		{"one login", func(f *fixture) []string { return f.deviceArgs("logout") }, "logged out of "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, role := newDeviceFixture(t)
			f.login(t)
			f.mustRun(f.env(), f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL())...)
			temps := append(leftoverTemps(t, tokensDir(f.cacheDir)), leftoverTemps(t, credentialsDir(f.cacheDir))...)
			t.Logf("before logout:\n%s\n%s", lsla(t, tokensDir(f.cacheDir)), lsla(t, credentialsDir(f.cacheDir)))

			r := f.mustRun(f.env(), tc.args(f)...)
			t.Logf("logout said: %s", r.stderr)
			t.Logf("after logout:\n%s\n%s", lsla(t, tokensDir(f.cacheDir)), lsla(t, credentialsDir(f.cacheDir)))
			wantTemps := fmt.Sprintf("removed %d leftover temporary file(s)", len(temps))
			if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, wantTemps) {
				t.Errorf("logout said %q; want %q and %q", r.stderr, tc.want, wantTemps)
			}
			for _, tmp := range temps {
				if _, err := os.Lstat(tmp); err == nil {
					t.Errorf("%s is left", filepath.Base(tmp))
				}
			}
			for _, dir := range []string{tokensDir(f.cacheDir), credentialsDir(f.cacheDir)} {
				for _, pattern := range []string{"*.json", ".*.tmp"} {
					if left, _ := filepath.Glob(filepath.Join(dir, pattern)); len(left) != 0 {
						t.Errorf("left in %s: %v", dir, left)
					}
				}
			}
		})
	}
}
