package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/awsoidc/awsoidc/ststest"
)

// sdkProcessEnv is aws-sdk-go-v2's credential_process provider, with its
// default timeout (one minute), running the binary with env and args.
func sdkProcessEnv(env []string, args ...string) *processcreds.Provider {
	return processcreds.NewProviderCommand(processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		return cmd, nil
	}))
}

// TestStaleServedWhileTokenEndpointHangs: a fetched source's token keys
// the stored credentials, yet a token endpoint that does not answer must
// not hold credential-process past its stale budget while stored
// credentials of the identity that source last produced are valid. The
// SDK's processcreds gets them within a few seconds, with no STS call; the
// next workflow run (another ACTIONS_ID_TOKEN_REQUEST_URL) is not served
// them; and a token that does come, of another identity, is never served
// them either.
func TestStaleServedWhileTokenEndpointHangs(t *testing.T) {
	f := newFixture(t)
	g := newGitHubActions(t, f.token)
	args := f.fetchArgs("credential-process", "--token-source", "github-actions")
	stored := processJSON(t, f.mustRun(f.env(g.env()...), args...).stdout)
	ageStoredCredentials(t, f.cacheDir, 10*time.Minute)
	calls := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)

	t.Run("token endpoint hangs", func(t *testing.T) {
		g.hang.Store(true)
		defer g.hang.Store(false)
		start := time.Now()
		creds, err := sdkProcessEnv(f.env(g.env()...), args...).Retrieve(t.Context())
		took := time.Since(start)
		if err != nil {
			t.Fatalf("processcreds: %v (after %s)", err, took)
		}
		if creds.AccessKeyID != stored.AccessKeyID {
			t.Errorf("got key %q, want the stored %q", creds.AccessKeyID, stored.AccessKeyID)
		}
		if took > staleBudget+5*time.Second {
			t.Errorf("answered after %s, want within %s and a process start (--timeout is 30s)", took, staleBudget)
		}
		if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != calls {
			t.Errorf("AssumeRoleWithWebIdentity calls = %d, want %d: nothing to send without a token", n, calls)
		}
	})

	t.Run("the warning names no token", func(t *testing.T) {
		g.hang.Store(true)
		defer g.hang.Store(false)
		r := f.run(f.env(g.env()...), args...)
		if r.code != 0 || processJSON(t, r.stdout).AccessKeyID != stored.AccessKeyID {
			t.Fatalf("exit %d, stdout %q, stderr %q; want the stored credentials", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "using stored credentials valid until") {
			t.Errorf("stderr %q does not warn that stored credentials are used", r.stderr)
		}
		for _, secret := range []string{f.token, g.requestToken, stored.SecretAccessKey, stored.SessionToken} {
			if strings.Contains(r.stderr, secret) {
				t.Errorf("stderr holds a secret: %q", r.stderr)
			}
		}
	})

	t.Run("another workflow run is not served them", func(t *testing.T) {
		g.hang.Store(true)
		defer g.hang.Store(false)
		env := f.env("ACTIONS_ID_TOKEN_REQUEST_URL="+g.srv.URL+"/token?api-version=2.0&run=2", "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+g.requestToken)
		r := f.run(env, append(args, "--timeout", "4s")...)
		if r.code == 0 {
			t.Fatalf("exit 0, stdout %q: another run's configuration was served the stored credentials", r.stdout)
		}
		if strings.Contains(r.stdout, stored.AccessKeyID) {
			t.Errorf("stdout holds the stored key: %q", r.stdout)
		}
	})

	t.Run("a token of another identity is not served them", func(t *testing.T) {
		other := f.srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:ci:another-job"})
		g.other.Store(&other)
		defer g.other.Store(nil)
		release := f.srv.Hold(ststest.ActionAssumeRoleWithWebIdentity)
		defer release()
		r := f.run(f.env(g.env()...), append(args, "--timeout", "4s")...)
		if r.code == 0 || strings.Contains(r.stdout, stored.AccessKeyID) {
			t.Fatalf("exit %d, stdout %q: another identity's token was served the stored credentials", r.code, r.stdout)
		}
	})
}

// TestIdentityRecord: the record of a fetched source's last identity holds
// an identity and nothing else; a corrupt, foreign or other-version file is
// no record.
func TestIdentityRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "abc.identity.json")
	a := &app{now: time.Now}
	want := "jwt-identity sha256:0123"
	a.recordIdentity(storedFallback{recPath: path}, want)
	if got := loadIdentityRecord(path); got != want {
		t.Fatalf("loaded %q, want %q", got, want)
	}
	for name, content := range map[string]string{ //nolint:gosec // G101: records of hashes and a fake JWT, no credential
		"corrupt":       `{"version": 1, "source_id": `,
		"other version": `{"version": 2, "source_id": "jwt-identity sha256:0123"}`,
		"unknown field": `{"version": 1, "source_id": "jwt-identity sha256:0123", "token": "x"}`,
		"trailing data": `{"version": 1, "source_id": "jwt-identity sha256:0123"} {}`,
		"not an identity (a forged file naming a token)": `{"version": 1, "source_id": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := loadIdentityRecord(path); got != "" {
			t.Errorf("%s: loaded %q, want no record", name, got)
		}
	}
}
