package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/internal/securefile"
	"github.com/awsoidc/awsoidc/ststest"
)

// TestCredentialProcessSDK runs the binary through the SDK's own
// credential_process provider and signs a GetCallerIdentity with what it
// returns, which ststest verifies.
func TestCredentialProcessSDK(t *testing.T) {
	f := newFixture(t)
	args := f.args("credential-process")
	p := processcreds.NewProviderCommand(processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = f.env()
		return cmd, nil
	}))
	creds, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !creds.CanExpire || creds.Expires.IsZero() {
		t.Errorf("credentials do not expire: %+v", creds.Expires)
	}
	if creds.AccountID != ststest.DefaultAccountID {
		t.Errorf("AccountID = %q, want %q", creds.AccountID, ststest.DefaultAccountID)
	}
	out, err := sts.NewFromConfig(f.srv.Config(aws.NewCredentialsCache(p))).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with credential-process credentials: %v", err)
	}
	if arn := aws.ToString(out.Arn); !strings.Contains(arn, ":assumed-role/cli-test/") {
		t.Errorf("caller ARN = %q, want an assumed-role session of cli-test", arn)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
	}
}

// TestCredentialProcessWarmCallNoSTS checks that a second call is served
// from the store without any STS request, and prints the same credentials.
func TestCredentialProcessWarmCallNoSTS(t *testing.T) {
	f := newFixture(t)
	cold := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout)
	warm := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout)
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Fatalf("AssumeRoleWithWebIdentity calls after a cold and a warm call = %d, want 1", n)
	}
	if warm != cold {
		t.Errorf("warm call printed other credentials than the cold one:\ncold %s %s\nwarm %s %s", cold.AccessKeyID, cold.Expiration, warm.AccessKeyID, warm.Expiration)
	}
	if cold.Version != 1 || cold.AccessKeyID == "" || cold.SecretAccessKey == "" || cold.SessionToken == "" {
		t.Errorf("incomplete output: version %d, key %q", cold.Version, cold.AccessKeyID)
	}
	exp, err := time.Parse(time.RFC3339, cold.Expiration)
	if err != nil {
		t.Fatalf("Expiration %q is not RFC 3339: %v", cold.Expiration, err)
	}
	// Expiration is 5 minutes before the real expiry (ststest: 1 hour).
	sessions := f.srv.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("sessions = %d, want 1", len(sessions))
	}
	if want := sessions[0].Expiration.Add(-5 * time.Minute).Truncate(time.Second); !exp.Equal(want) {
		t.Errorf("Expiration = %s, want the real expiry %s minus 5 minutes = %s", exp, sessions[0].Expiration, want)
	}
	// Another role, duration or token source is another entry.
	other := processJSON(t, f.mustRun(f.env(), f.args("credential-process", "--duration", "30m")...).stdout)
	if other.AccessKeyID == cold.AccessKeyID {
		t.Errorf("--duration 30m was served the 1-hour credentials")
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 2 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 2", n)
	}
}

// TestCredentialProcessConcurrentColdCalls starts 20 processes on an empty
// store while STS holds the first request: they all wait on the store's
// lock, and all print the credentials of the one STS call.
func TestCredentialProcessConcurrentColdCalls(t *testing.T) {
	const n = 20
	f := newFixture(t)
	release := f.srv.Hold(ststest.ActionAssumeRoleWithWebIdentity)
	defer release()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	procs := make([]*proc, n)
	for i := range procs {
		procs[i] = f.start(f.env(), f.args("credential-process", "--verbose")...)
	}
	// Every process has found the store empty and gone for the lock, and
	// one of them holds it and waits on STS.
	for _, p := range procs {
		if err := p.waitLine(ctx, `msg="no stored credentials" cmd=awsoidc when="before lock"`); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.srv.WaitCalls(ctx, ststest.ActionAssumeRoleWithWebIdentity, 1); err != nil {
		t.Fatal(err)
	}
	release()
	outs := make([]processOutput, n)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			b, err := readAll(p)
			if code := p.wait(); code != 0 || err != nil {
				t.Errorf("process %d: exit %d, %v\n%s", i, code, err, p.errText())
				return
			}
			outs[i] = processJSON(t, b)
		})
	}
	wg.Wait()
	if got := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); got != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls of %d concurrent cold processes = %d, want 1", n, got)
	}
	for i, o := range outs {
		if o.AccessKeyID != outs[0].AccessKeyID {
			t.Errorf("process %d printed key %q, process 0 %q", i, o.AccessKeyID, outs[0].AccessKeyID)
		}
	}
}

func readAll(p *proc) (string, error) {
	b, err := io.ReadAll(p.stdout)
	return string(b), err
}

// ageStoredCredentials makes every stored credential set expire left from
// now, by rewriting the "expires" field of the store's files (the version 1
// format of cache.FileStore). It stands in for waiting: the binary runs on
// the wall clock, and the provider corrects STS's clock skew, so a server
// clock set back would not do.
func ageStoredCredentials(t *testing.T, cacheDir string, left time.Duration) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(credentialsDir(cacheDir), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no stored credentials in %s: %v", cacheDir, err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, ".outage.json") || strings.HasSuffix(file, ".identity.json") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["version"] != 1.0 || m["expires"] == nil {
			t.Fatalf("unknown store format: version %v", m["version"])
		}
		m["expires"] = time.Now().Add(left).UTC().Format(time.RFC3339Nano)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCredentialProcessRefreshesNearExpiry checks the reuse rule: stored
// credentials with less than 21 minutes left are replaced, and when STS
// then fails, the stored ones are printed while still valid.
func TestCredentialProcessRefreshesNearExpiry(t *testing.T) {
	f := newFixture(t)
	first := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout)
	ageStoredCredentials(t, f.cacheDir, 22*time.Minute)
	if again := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout); again.AccessKeyID != first.AccessKeyID {
		t.Fatalf("credentials with 22 minutes left were not reused")
	}
	ageStoredCredentials(t, f.cacheDir, 20*time.Minute)
	second := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout)
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 2 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 2: credentials with 20 minutes left must not be reused", n)
	}
	if first.AccessKeyID == second.AccessKeyID {
		t.Errorf("second call printed the first call's credentials")
	}

	// STS now refuses: the stored credentials, valid for 15 more minutes,
	// are printed with a warning, Expiration 5 minutes before their expiry.
	ageStoredCredentials(t, f.cacheDir, 15*time.Minute)
	f.srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "IDPRejectedClaim", Times: -1})
	start := time.Now()
	r := f.mustRun(f.env(), f.args("credential-process")...)
	stale := processJSON(t, r.stdout)
	if stale.AccessKeyID != second.AccessKeyID {
		t.Errorf("with STS failing, printed key %q, want the stored %q", stale.AccessKeyID, second.AccessKeyID)
	}
	if exp, err := time.Parse(time.RFC3339, stale.Expiration); err != nil || exp.Before(start.Add(9*time.Minute)) || exp.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("stale Expiration %s (%v), want 10 minutes from now", stale.Expiration, err)
	}
	if !strings.Contains(r.stderr, "IDPRejectedClaim") || !strings.Contains(r.stderr, "; using stored credentials valid until") {
		t.Errorf("no warning on stderr:\n%s", r.stderr)
	}
	assertNoSecrets(t, "stderr", r.stderr, f.token, second.SecretAccessKey, second.SessionToken)

	// Without stored credentials the failure is an error, exit status 1.
	r = f.run(f.env(), f.args("credential-process", "--no-cache")...)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "IDPRejectedClaim") {
		t.Errorf("failing STS without a store: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestCredentialProcessTimeoutServesValidStored checks static stability
// when no new credentials come within --timeout: STS does not answer, or
// another process holds the store's lock. The stored credentials, not
// reusable but valid for 15 more minutes, are printed with a warning. Each
// case waits out a --timeout of 300 ms: that wait is what is tested.
func TestCredentialProcessTimeoutServesValidStored(t *testing.T) {
	f := newFixture(t)
	stored := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout)
	ageStoredCredentials(t, f.cacheDir, 15*time.Minute)
	check := func(t *testing.T, why string) {
		t.Helper()
		r := f.run(f.env(), f.args("credential-process", "--timeout", "300ms")...)
		if r.code != exitOK {
			t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		if got := processJSON(t, r.stdout); got.AccessKeyID != stored.AccessKeyID {
			t.Errorf("printed key %q, want the stored %q", got.AccessKeyID, stored.AccessKeyID)
		}
		if !strings.Contains(r.stderr, why) || !strings.Contains(r.stderr, "using stored credentials valid until") {
			t.Errorf("no warning on stderr:\n%s", r.stderr)
		}
	}

	t.Run("STS does not answer", func(t *testing.T) {
		release := f.srv.Hold(ststest.ActionAssumeRoleWithWebIdentity)
		defer release()
		check(t, "no credentials within 300ms (--timeout): STS did not answer")
		// The failure is recorded for the other processes: clear it, so
		// that the next case asks again.
		outages, _ := filepath.Glob(filepath.Join(credentialsDir(f.cacheDir), "*.outage.json"))
		if len(outages) != 1 {
			t.Fatalf("outage records: %q, want 1", outages)
		}
		if err := os.Remove(outages[0]); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another process holds the lock", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(credentialsDir(f.cacheDir), "*.json"))
		if err != nil || len(files) != 1 {
			t.Fatalf("stored credential files: %q, %v", files, err)
		}
		unlock, err := securefile.Lock(t.Context(), files[0])
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = unlock() }()
		check(t, "another awsoidc process has been getting credentials for more than 300ms")
	})
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 2 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 2 (the cold call and the one STS held)", n)
	}
}

// TestTokenEnvKeysStoreByIdentity runs credential-process with the same
// --token-env variable holding tokens of two subjects, of which the role
// trusts the first only: the second must not be served the first's stored
// credentials. A new token of the first subject (rotated) is.
func TestTokenEnvKeysStoreByIdentity(t *testing.T) {
	f := newFixture(t)
	role := f.srv.AddRole(ststest.Role{Name: "job-a-only", Subject: "job-a"})
	args := []string{"credential-process", "--role-arn", role, "--token-env", "CI_TOKEN", "--endpoint-url", f.srv.URL(), "--cache-dir", f.cacheDir}
	tokenA := f.srv.MintToken(ststest.Claims{Subject: "job-a"})
	rotatedA := f.srv.MintToken(ststest.Claims{Subject: "job-a", Extra: map[string]any{"jti": "rotated"}})
	tokenB := f.srv.MintToken(ststest.Claims{Subject: "job-b"})
	f.mustRun(f.env("CI_TOKEN="+tokenA), args...)
	f.mustRun(f.env("CI_TOKEN="+tokenA), args...)   // the same token: served from the store
	f.mustRun(f.env("CI_TOKEN="+rotatedA), args...) // the same identity: served from the store
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls for one identity = %d, want 1", n)
	}
	r := f.run(f.env("CI_TOKEN="+tokenB), args...)
	if r.code != exitError || r.stdout != "" {
		t.Errorf("a token the role does not trust: exit %d, stdout %q (the other token's stored credentials?)\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestTokenFileKeysStoreByIdentity is TestTokenEnvKeysStoreByIdentity for
// --token-file, as on a shared CI runner whose jobs write their token to the
// same path: the next job's token, another identity, must not be served
// the previous job's credentials; the kubelet's hourly rotation of a token
// in place (a new token, the same identity) keeps them.
func TestTokenFileKeysStoreByIdentity(t *testing.T) {
	f := newFixture(t)
	role := f.srv.AddRole(ststest.Role{Name: "job-a-only", Subject: "job-a"})
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"credential-process", "--role-arn", role, "--token-file", path, "--endpoint-url", f.srv.URL(), "--cache-dir", f.cacheDir}
	write(f.srv.MintToken(ststest.Claims{Subject: "job-a"}))
	first := processJSON(t, f.mustRun(f.env(), args...).stdout)
	write(f.srv.MintToken(ststest.Claims{Subject: "job-a", Extra: map[string]any{"jti": "rotated"}}))
	if again := processJSON(t, f.mustRun(f.env(), args...).stdout); again.AccessKeyID != first.AccessKeyID {
		t.Error("a rotated token of the same identity was not served the stored credentials")
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls for one identity = %d, want 1", n)
	}
	write(f.srv.MintToken(ststest.Claims{Subject: "job-b"}))
	r := f.run(f.env(), args...)
	if r.code != exitError || r.stdout != "" {
		t.Errorf("another job's token at the same path: exit %d, stdout %q (the previous job's stored credentials?)\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// A missing token file names the path, and is no store hit either.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r = f.run(f.env(), args...)
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, path) {
		t.Errorf("a missing token file: exit %d, stdout %q\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestCredentialProcessValidation checks that bad flags and variables are
// reported, naming them, with exit status 1 and no STS request.
func TestCredentialProcessValidation(t *testing.T) {
	f := newFixture(t)
	emptyFile := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"no role", []string{"credential-process", "--token-file", f.tokenFile}, nil, []string{"--role-arn: is required (or set AWS_ROLE_ARN)"}},
		{"no token source", []string{"credential-process", "--role-arn", f.role}, nil, []string{"no token source", "--token-file"}},
		{"bad role", f.args("credential-process", "--role-arn", "arn:aws:iam::12:role/x"), nil, []string{`invalid --role-arn "arn:aws:iam::12:role/x"`}},
		{"bad role from env", []string{"credential-process", "--token-file", f.tokenFile, "--cache-dir", f.cacheDir}, []string{"AWS_ROLE_ARN=nope"}, []string{`invalid AWS_ROLE_ARN "nope"`}},
		{"bad session name from env", f.args("credential-process"), []string{"AWS_ROLE_SESSION_NAME=a b"}, []string{`invalid AWS_ROLE_SESSION_NAME "a b"`}},
		{"bad session name", f.args("credential-process", "--role-session-name", "x"), nil, []string{`invalid --role-session-name "x"`}},
		{"short duration", f.args("credential-process", "--duration", "60"), nil, []string{`invalid --duration "1m0s"`}},
		{"long duration", f.args("credential-process", "--duration", "13h"), nil, []string{`invalid --duration "13h0m0s"`}},
		{"bad duration", f.args("credential-process", "--duration", "soon"), nil, []string{`invalid --duration "soon"`}},
		{"bad policy", f.args("credential-process", "--policy", "not json"), nil, []string{"invalid --policy"}},
		{"missing policy file", f.args("credential-process", "--policy", "file:///nonexistent/policy.json"), nil, []string{`invalid --policy "file:///nonexistent/policy.json"`}},
		{"empty policy file", f.args("credential-process", "--policy", "file://"+emptyFile), nil, []string{`invalid --policy "file://` + emptyFile + `": the file is empty`}},
		{"bad policy arn", f.args("credential-process", "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--policy-arn", "nope"), nil, []string{`invalid --policy-arn "nope"`}},
		{"bad provider id", f.args("credential-process", "--provider-id", "https://www.amazon.com"), nil, []string{`invalid --provider-id "https://www.amazon.com"`}},
		{"bad endpoint", f.args("credential-process", "--endpoint-url", "localhost:99"), nil, []string{`invalid --endpoint-url "localhost:99"`}},
		{"bad endpoint from env", []string{"credential-process", "--role-arn", f.role, "--token-file", f.tokenFile, "--cache-dir", f.cacheDir}, []string{"AWS_ENDPOINT_URL_STS=::"}, []string{`invalid AWS_ENDPOINT_URL_STS "::"`}},
		{"two token sources", f.args("credential-process", "--token-env", "TOKEN"), []string{"TOKEN=x"}, []string{"--token-file and --token-env cannot be used together"}},
		{"empty token env", []string{"credential-process", "--role-arn", f.role, "--token-env", "TOKEN", "--cache-dir", f.cacheDir}, nil, []string{`invalid --token-env "TOKEN": the environment variable TOKEN is unset or empty`}},
		{"issuer without client", []string{"credential-process", "--role-arn", f.role, "--issuer", f.srv.Issuer(), "--cache-dir", f.cacheDir}, nil, []string{"invalid --client-id: is required with --issuer"}},
		{"insecure issuer", []string{"credential-process", "--role-arn", f.role, "--issuer", "http://idp.example.com", "--client-id", "x", "--cache-dir", f.cacheDir}, nil, []string{`invalid --issuer "http://idp.example.com"`}},
		{"prompt without device flow", f.args("credential-process", "--allow-prompt"), nil, []string{"invalid --allow-prompt"}},
		{"negative timeout", f.args("credential-process", "--timeout", "-1s"), nil, []string{`invalid --timeout "-1s"`}},
		{"several at once", f.args("credential-process", "--role-session-name", "x", "--duration", "60"), nil, []string{"--role-session-name", "--duration"}},
		{"env: bad format", f.args("env", "--format", "csh"), nil, []string{`invalid --format "csh"`}},
		{"serve: bad format", f.args("serve", "--format", "csh"), nil, []string{`invalid --format "csh"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.run(f.env(tt.env...), tt.args...)
			if r.code != exitError {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", r.code, exitError, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
				}
			}
		})
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("validation errors made %d STS requests, want 0", n)
	}
}

// TestExitStatus checks the exit statuses: 0, 1 for a failure, 2 for a
// command line that does not parse.
func TestExitStatus(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"ok", f.args("credential-process"), exitOK},
		{"unknown flag", f.args("credential-process", "--bogus"), exitUsage},
		{"unknown command", []string{"credentials"}, exitUsage},
		{"argument", f.args("credential-process", "extra"), exitUsage},
		{"quiet and verbose", f.args("credential-process", "--quiet", "--verbose"), exitUsage},
		{"sts refuses", f.args("credential-process", "--no-cache", "--role-arn", "arn:aws:iam::123456789012:role/not-there"), exitError},
		{"token file missing", f.args("credential-process", "--no-cache", "--token-file", filepath.Join(t.TempDir(), "missing")), exitError},
		{"help", []string{"--help"}, exitOK},
		{"version", []string{"--version"}, exitOK},
		{"logout takes no --open-browser", []string{"logout", "--issuer", "https://idp.example.com", "--client-id", "c", "--open-browser"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.run(f.env(), tt.args...)
			if r.code != tt.want {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", r.code, tt.want, r.stderr)
			}
			if tt.want != exitOK && !strings.HasPrefix(r.stderr, "awsoidc: ") {
				t.Errorf("stderr does not start with \"awsoidc: \":\n%s", r.stderr)
			}
		})
	}
}

// TestStderrHasNoSecrets runs the credential commands verbosely, on the
// success and failure paths, and looks for the token and the credentials
// in everything they print on stderr, and in stdout where they are not
// meant to be printed.
func TestStderrHasNoSecrets(t *testing.T) {
	f := newFixture(t)
	envToken := f.srv.MintToken(ststest.Claims{Subject: "env-subject"})
	env := f.env("CI_TOKEN=" + envToken)
	var stderr strings.Builder
	var secrets []string
	collect := func(r result) {
		stderr.WriteString(r.stderr)
		switch {
		case strings.Contains(r.stdout, `"Version"`):
			p := processJSON(t, r.stdout)
			secrets = append(secrets, p.SecretAccessKey, p.SessionToken)
		case strings.Contains(r.stdout, "AWS_SECRET_ACCESS_KEY"):
			var m map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, m["AWS_SECRET_ACCESS_KEY"], m["AWS_SESSION_TOKEN"])
		}
	}
	collect(f.mustRun(env, f.args("credential-process", "--verbose")...))
	collect(f.mustRun(env, f.args("credential-process", "--verbose")...))
	collect(f.mustRun(env, "credential-process", "--verbose", "--role-arn", f.role, "--token-env", "CI_TOKEN", "--endpoint-url", f.srv.URL(), "--cache-dir", f.cacheDir))
	collect(f.mustRun(env, f.args("env", "--verbose", "--format", "json")...))
	for _, code := range []string{"ExpiredTokenException", "InvalidIdentityToken", "IDPRejectedClaim", "AccessDenied"} {
		f.srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: code, Times: 2})
		collect(f.run(env, f.args("credential-process", "--verbose", "--no-cache")...))
		collect(f.run(env, "credential-process", "--verbose", "--no-cache", "--role-arn", f.role, "--token-env", "CI_TOKEN", "--endpoint-url", f.srv.URL()))
		f.srv.ClearFaults(ststest.ActionAssumeRoleWithWebIdentity)
	}
	if len(secrets) < 6 {
		t.Fatalf("collected %d secrets, want at least 6", len(secrets))
	}
	if !strings.Contains(stderr.String(), "level=DEBUG") || !strings.Contains(stderr.String(), "IDPRejectedClaim") {
		t.Fatalf("verbose runs logged too little to be a test:\n%s", stderr.String())
	}
	assertNoSecrets(t, "stderr", stderr.String(), append(secrets, f.token, envToken)...)
}

// TestCacheDirDefault checks that the store is under the user cache
// directory when --cache-dir is not given, with private modes.
func TestCacheDirDefault(t *testing.T) {
	f := newFixture(t)
	f.mustRun(f.env(), "credential-process", "--role-arn", f.role, "--token-file", f.tokenFile, "--endpoint-url", f.srv.URL())
	dir := filepath.Join(f.home, ".cache", "awsoidc", "credentials")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			files++
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
			}
		}
	}
	if files != 1 {
		t.Errorf("%d credential files in %s, want 1", files, dir)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %v, err %v; want 0700", dir, fi.Mode().Perm(), err)
	}
}

// TestEnvironmentVariables checks that the AWS_* variables stand in for
// missing flags, and that flags win.
func TestEnvironmentVariables(t *testing.T) {
	f := newFixture(t)
	env := f.env(
		"AWS_ROLE_ARN="+f.role,
		"AWS_WEB_IDENTITY_TOKEN_FILE="+f.tokenFile,
		"AWS_ROLE_SESSION_NAME=from-env",
		"AWS_ENDPOINT_URL_STS="+f.srv.URL(),
		"AWS_REGION=eu-west-1",
	)
	f.mustRun(env, "credential-process", "--cache-dir", f.cacheDir)
	f.mustRun(env, "credential-process", "--cache-dir", f.cacheDir, "--role-session-name", "from-flag")
	var names []string
	for _, s := range f.srv.Sessions() {
		names = append(names, s.RoleSessionName)
	}
	if strings.Join(names, ",") != "from-env,from-flag" {
		t.Errorf("session names = %q, want from-env then from-flag", names)
	}
	// A flag that names a bad endpoint wins over the good one in the environment.
	r := f.run(env, "credential-process", "--cache-dir", t.TempDir(), "--endpoint-url", "http://127.0.0.1:1", "--timeout", "5s")
	if r.code != exitError {
		t.Errorf("--endpoint-url did not win over AWS_ENDPOINT_URL_STS: exit %d", r.code)
	}
}

// TestInsecureCacheDir checks that a store directory others can write is
// refused before any STS call, and that --no-cache gets around it.
func TestInsecureCacheDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.MkdirAll(filepath.Join(dir, "credentials"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "credentials"), 0o777); err != nil {
		t.Fatal(err)
	}
	r := f.run(f.env(), f.args("credential-process", "--cache-dir", dir)...)
	if r.code != exitError || !strings.Contains(r.stderr, "--cache-dir "+dir) || !strings.Contains(r.stderr, "--no-cache") {
		t.Errorf("insecure store: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("STS calls = %d, want 0", n)
	}
	f.mustRun(f.env(), f.args("credential-process", "--cache-dir", dir, "--no-cache")...)
}
