package main

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/ststest"
)

// startServe starts "awsoidc serve --format json" and returns the process,
// the endpoint and the authorization token, read from the file it printed.
// The variables are serve's readiness signal.
func startServe(t *testing.T, f *fixture, extra ...string) (*proc, string, string) {
	t.Helper()
	p := f.start(f.env(), f.args("serve", append([]string{"--format", "json", "--verbose"}, extra...)...)...)
	var vars map[string]string
	if err := json.NewDecoder(p.stdout).Decode(&vars); err != nil {
		code := p.wait()
		t.Fatalf("reading serve's variables: %v (exit %d)\n%s", err, code, p.errText())
	}
	uri, file := vars[envContainerFullURI], vars[envContainerAuthTokenFile]
	if _, printed := vars[envContainerAuthToken]; printed {
		t.Errorf("serve printed %s without --print-token", envContainerAuthToken)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("%s=%q: %v", envContainerAuthTokenFile, file, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	token, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(uri, "http://127.0.0.1:") || len(token) < 43 {
		t.Fatalf("serve printed %s=%q and a token of %d characters", envContainerFullURI, uri, len(token))
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState != nil {
			if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the token file outlived serve: %v", err)
			}
		}
	})
	return p, uri, string(token)
}

// stop sends SIGTERM and checks a graceful exit.
func stop(t *testing.T, p *proc) {
	t.Helper()
	if runtime.GOOS == "windows" {
		_ = p.cmd.Process.Kill()
		p.wait()
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Errorf("serve exited with %d after SIGTERM, want 0\n%s", code, p.errText())
	}
	if !strings.Contains(p.errText(), "stopped serving credentials") {
		t.Errorf("serve did not report a graceful stop:\n%s", p.errText())
	}
}

// TestServeEndpointCreds points the SDK's container-credentials provider at
// serve and signs a GetCallerIdentity with what it gets.
func TestServeEndpointCreds(t *testing.T) {
	f := newFixture(t)
	p, uri, token := startServe(t, f)

	provider := endpointcreds.New(uri, func(o *endpointcreds.Options) { o.AuthorizationToken = token })
	creds, err := provider.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("endpointcreds: %v", err)
	}
	if creds.AccountID != ststest.DefaultAccountID || !creds.CanExpire {
		t.Errorf("credentials: account %q, can expire %t", creds.AccountID, creds.CanExpire)
	}
	// Expiration is the real expiry of the 1-hour credentials: the SDKs
	// refresh ahead of it by their own windows.
	if left := time.Until(creds.Expires); left < 58*time.Minute || left > 61*time.Minute {
		t.Errorf("Expiration in %s, want the real expiry, an hour away", left)
	}
	client := sts.NewFromConfig(f.srv.Config(aws.NewCredentialsCache(provider)))
	for range 3 {
		out, err := client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity with served credentials: %v", err)
		}
		if !strings.Contains(aws.ToString(out.Arn), ":assumed-role/cli-test/") {
			t.Errorf("caller ARN = %q", aws.ToString(out.Arn))
		}
	}
	// A second client of the endpoint gets the same credentials, without
	// another STS call.
	again, err := endpointcreds.New(uri, func(o *endpointcreds.Options) { o.AuthorizationToken = token }).Retrieve(t.Context())
	if err != nil || again.AccessKeyID != creds.AccessKeyID {
		t.Errorf("second client: %v, key %q want %q", err, again.AccessKeyID, creds.AccessKeyID)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
	}
	stop(t, p)
	assertNoSecrets(t, "serve's stderr", p.errText(), f.token, creds.SecretAccessKey, creds.SessionToken, token)
}

// TestServeAuthorization checks that serve answers only requests with the
// token.
func TestServeAuthorization(t *testing.T) {
	f := newFixture(t)
	p, uri, token := startServe(t, f)
	defer stop(t, p)

	tests := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"missing token", "GET", "/", "", http.StatusUnauthorized},
		{"wrong token", "GET", "/", "Bearer " + token, http.StatusForbidden},
		{"truncated token", "GET", "/", token[:len(token)-1], http.StatusForbidden},
		{"longer token", "GET", "/", token + "x", http.StatusForbidden},
		{"other path", "GET", "/latest/meta-data/", token, http.StatusNotFound},
		{"POST", "POST", "/", token, http.StatusMethodNotAllowed},
		{"right token", "GET", "/", token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, strings.TrimSuffix(uri, "/")+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("body is not JSON: %s", body)
			}
			if tt.want != http.StatusOK {
				if m["Code"] == nil || m["Message"] == nil || m["AccessKeyId"] != nil || m["SecretAccessKey"] != nil {
					t.Errorf("refusal body %s", body)
				}
			} else if m["AccessKeyId"] == nil || m["SecretAccessKey"] == nil || m["Token"] == nil || m["Expiration"] == nil || m["AccountId"] != ststest.DefaultAccountID {
				t.Errorf("credentials body lacks a field: keys %v", keys(m))
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
	// The SDK's provider with a wrong token fails.
	if _, err := endpointcreds.New(uri, func(o *endpointcreds.Options) { o.AuthorizationToken = "wrong" }).Retrieve(t.Context()); err == nil {
		t.Error("endpointcreds with a wrong token got credentials")
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestServeRefusesNonLoopback checks that serve listens on loopback only.
func TestServeRefusesNonLoopback(t *testing.T) {
	f := newFixture(t)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		r := f.run(f.env(), f.args("serve", "--addr", addr)...)
		if r.code != exitError || !strings.Contains(r.stderr, `invalid --addr "`+addr+`": must be a loopback address`) {
			t.Errorf("--addr %s: exit %d, stderr:\n%s", addr, r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("--addr %s: printed %q", addr, r.stdout)
		}
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("refused addresses made %d STS calls", n)
	}
}

// TestServeSharesStore checks that serve starts from the credentials
// credential-process stored, and fails before announcing anything when it
// cannot get credentials.
func TestServeSharesStore(t *testing.T) {
	f := newFixture(t)
	stored := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout)
	p, uri, token := startServe(t, f, "--addr", "localhost:0")
	creds, err := endpointcreds.New(uri, func(o *endpointcreds.Options) { o.AuthorizationToken = token }).Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != stored.AccessKeyID {
		t.Errorf("serve got key %q, want the stored %q", creds.AccessKeyID, stored.AccessKeyID)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
	}
	stop(t, p)

	f.srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "AccessDenied", Times: -1})
	r := f.run(f.env(), f.args("serve", "--no-cache")...)
	if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "AccessDenied") {
		t.Errorf("serve without credentials: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
