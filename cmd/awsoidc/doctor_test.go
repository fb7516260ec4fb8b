package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/spf13/pflag"

	"github.com/awsoidc/awsoidc/ststest"
)

// doctorRun runs "awsoidc doctor" with the fixture's flags and extra, and
// checks what every run must: no secret in any output, one line per check
// run, and an exit status that says whether one failed.
func (f *fixture) doctorRun(t *testing.T, extra ...string) (result, []checkResult) {
	t.Helper()
	r := f.run(f.env(), append(f.args("doctor"), extra...)...)
	assertNoSecrets(t, "doctor output", r.stdout+r.stderr, f.token)
	assertNoCredentials(t, r.stdout+r.stderr)
	jr := f.run(f.env(), append(f.args("doctor", "--format", "json"), extra...)...)
	assertNoSecrets(t, "doctor --format json output", jr.stdout+jr.stderr, f.token)
	assertNoCredentials(t, jr.stdout+jr.stderr)
	var results []checkResult
	dec := json.NewDecoder(strings.NewReader(jr.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&results); err != nil {
		t.Fatalf("--format json output %q: %v", jr.stdout, err)
	}
	if len(results) == 0 {
		t.Fatal("--format json: no checks")
	}
	failed := false
	for i, res := range results {
		switch res.Status {
		case statusOK, statusWarn:
		case statusFail:
			failed = true
			if i != len(results)-1 {
				t.Errorf("check %q failed but the checks went on", res.Check)
			}
			if res.Hint == "" {
				t.Errorf("check %q failed without a hint", res.Check)
			}
		default:
			t.Errorf("check %q: status %q", res.Check, res.Status)
		}
	}
	want := 0
	if failed {
		want = 1
	}
	if r.code != want || jr.code != want {
		t.Errorf("exit %d (human), %d (json), want %d\nstdout:\n%s\nstderr:\n%s", r.code, jr.code, want, r.stdout, r.stderr)
	}
	for _, res := range results {
		if !strings.Contains(r.stdout, res.Check) {
			t.Errorf("human output lacks check %q:\n%s", res.Check, r.stdout)
		}
	}
	return r, results
}

// secretShape matches what a secret access key or a session token looks
// like: a long run of base64 characters.
var secretShape = regexp.MustCompile(`[A-Za-z0-9/+]{40,}`)

// assertNoCredentials fails when text holds anything shaped like a secret
// access key or a session token.
func assertNoCredentials(t *testing.T, text string) {
	t.Helper()
	for _, m := range secretShape.FindAllString(text, -1) {
		if regexp.MustCompile(`^[0-9a-f]+$`).MatchString(m) || strings.HasPrefix(m, "/") {
			continue // a store entry's file name (a SHA-256), a path
		}
		t.Errorf("output holds a secret-like value %.6q...:\n%s", m, text)
	}
}

// last returns the last result, the one that stopped the checks.
func last(results []checkResult) checkResult { return results[len(results)-1] }

func TestDoctorAllPass(t *testing.T) {
	f := newFixture(t)
	r, results := f.doctorRun(t)
	var names []string
	for _, res := range results {
		names = append(names, res.Check)
		if res.Status != statusOK {
			t.Errorf("check %q: %s %s (%s)", res.Check, res.Status, res.Detail, res.Hint)
		}
	}
	want := "token-source token-claims issuer-keys sts-endpoint sts-clock assume-role caller-identity credentials-store"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("checks %q, want %q", got, want)
	}
	if n := strings.Count(r.stdout, "\n"); n != 8 {
		t.Errorf("human output has %d lines, want 8:\n%s", n, r.stdout)
	}
	for _, s := range []string{"system:serviceaccount:ci:deployer", "assumed-role/cli-test/", "account 123456789012"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, r.stdout)
		}
	}
	// A real call each time (--no-cache semantics), and nothing stored.
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 2 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 2", n)
	}
	if _, err := os.Stat(credentialsDir(f.cacheDir)); err == nil {
		entries, _ := os.ReadDir(credentialsDir(f.cacheDir))
		if len(entries) > 0 {
			t.Errorf("doctor stored %d files", len(entries))
		}
	}
}

func TestDoctorStoreEntry(t *testing.T) {
	f := newFixture(t)
	f.mustRun(f.env(), f.args("credential-process")...)
	_, results := f.doctorRun(t)
	if got := last(results); got.Check != "credentials-store" || got.Status != statusOK || !strings.Contains(got.Detail, "1 entries valid") || !strings.Contains(got.Detail, "this role's entry") {
		t.Errorf("store check: %+v", got)
	}
}

func TestDoctorTokenFileMissing(t *testing.T) {
	f := newFixture(t)
	if err := os.Remove(f.tokenFile); err != nil {
		t.Fatal(err)
	}
	r, results := f.doctorRun(t)
	got := last(results)
	if len(results) != 1 || got.Check != "token-source" || got.Status != statusFail || !strings.Contains(got.Detail, f.tokenFile) {
		t.Errorf("results %+v", results)
	}
	if !strings.HasPrefix(r.stdout, "FAIL") || !strings.Contains(r.stderr, `check "token-source" failed`) {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
	}
}

func TestDoctorTokenExpired(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	f.token = f.srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:ci:deployer", IssuedAt: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour)})
	if err := os.WriteFile(f.tokenFile, []byte(f.token), 0o600); err != nil {
		t.Fatal(err)
	}
	_, results := f.doctorRun(t)
	status := map[string]string{}
	for _, res := range results {
		status[res.Check] = res.Status
	}
	if status["token-source"] != statusWarn || status["token-claims"] != statusWarn {
		t.Errorf("token checks %v, want warnings", status)
	}
	got := last(results)
	if got.Check != "assume-role" || got.Status != statusFail || !strings.Contains(got.Detail, "ExpiredTokenException") || !strings.Contains(got.Hint, "expired") {
		t.Errorf("last check %+v", got)
	}
}

func TestDoctorWrongIssuerKey(t *testing.T) {
	f := newFixture(t)
	// The issuer's kid, on a key the issuer never had: a forgery.
	jws, err := jose.ParseSignedCompact(f.token, stsAlgs)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: jws.Signatures[0].Header.KeyID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := signer.Sign(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		t.Fatal(err)
	}
	forgedToken, err := forged.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, detail string
	}{
		{"unknown kid", f.srv.MintToken(ststest.Claims{Subject: "s", UnknownKey: true}), "no key with the token's kid"},
		{"forged with the issuer's kid", forgedToken, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.token = tt.token
			if err := os.WriteFile(f.tokenFile, []byte(f.token), 0o600); err != nil {
				t.Fatal(err)
			}
			_, results := f.doctorRun(t)
			got := last(results)
			if got.Check != "issuer-keys" || got.Status != statusFail || !strings.Contains(got.Detail, tt.detail) || !strings.Contains(got.Hint, f.srv.Issuer()) {
				t.Errorf("last check %+v", got)
			}
		})
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", n)
	}
}

// TestDoctorTrustRefusesSubject: the role trusts another subject; the hint
// names the sub condition key as IAM writes it and the token's actual sub.
func TestDoctorTrustRefusesSubject(t *testing.T) {
	f := newFixture(t)
	f.role = f.srv.AddRole(ststest.Role{Name: "main-only", Subject: "repo:octo/app:ref:refs/heads/main"})
	_, results := f.doctorRun(t)
	got := last(results)
	host := strings.TrimPrefix(f.srv.Issuer(), "http://")
	for _, s := range []string{`"` + host + `:sub" against "system:serviceaccount:ci:deployer"`, `"` + host + `:aud" against "sts.amazonaws.com"`, "oidc-provider/" + host} {
		if !strings.Contains(got.Hint, s) {
			t.Errorf("hint lacks %q: %s", s, got.Hint)
		}
	}
	if got.Check != "assume-role" || got.Status != statusFail || !strings.Contains(got.Detail, "AccessDenied") {
		t.Errorf("last check %+v", got)
	}
}

func TestDoctorSTSDown(t *testing.T) {
	f := newFixture(t)
	f.srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Status: 500, Times: -1})
	_, results := f.doctorRun(t, "--timeout", "5s")
	got := last(results)
	if got.Check != "assume-role" || got.Status != statusFail || !strings.Contains(got.Detail, "transient") || !strings.Contains(got.Hint, "retry later") {
		t.Errorf("last check %+v", got)
	}
}

func TestDoctorFlags(t *testing.T) {
	f := newFixture(t)
	r := f.run(f.env(), f.args("doctor", "--format", "yaml")...)
	if r.code != exitError || !strings.Contains(r.stderr, `invalid --format "yaml"`) || r.stdout != "" {
		t.Errorf("--format yaml: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = f.run(f.env(), "doctor", "--token-file", f.tokenFile)
	if r.code != exitError || !strings.Contains(r.stderr, "--role-arn") {
		t.Errorf("no --role-arn: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
}

// newTestDoctor resolves args (credential-process flags) with env as the
// environment, for checks that make no network call.
func newTestDoctor(t *testing.T, env map[string]string, args ...string) *doctor {
	t.Helper()
	a := &app{secrets: &scrubber{}, now: time.Now, getenv: func(k string) string { return env[k] }}
	var f credFlags
	fs := pflag.NewFlagSet("doctor", pflag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.resolve(fs, a.getenv)
	if err != nil {
		t.Fatal(err)
	}
	return &doctor{a: a, flags: fs, cfg: cfg}
}

func TestDoctorEndpoint(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		args         []string
		status       string
		detail, hint string
	}{
		{"default region", nil, nil, statusOK, "https://sts.us-east-1.amazonaws.com, region us-east-1 (from the default of the role's partition), partition aws", ""},
		{"region from the environment", map[string]string{"AWS_REGION": "eu-west-1"}, nil, statusOK, "https://sts.eu-west-1.amazonaws.com, region eu-west-1 (from AWS_REGION)", ""},
		{"China role", nil, []string{"--role-arn", "arn:aws-cn:iam::123456789012:role/ci"}, statusOK, "https://sts.cn-north-1.amazonaws.com.cn", ""},
		{"partition mismatch", nil, []string{"--role-arn", "arn:aws-us-gov:iam::123456789012:role/ci", "--region", "eu-west-1"}, statusFail, "but the role is in partition aws-us-gov", "--region us-gov-west-1"},
		{"FIPS", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}, nil, statusOK, "https://sts-fips.us-east-1.amazonaws.com, region us-east-1 (from the default of the role's partition), partition aws (AWS_USE_FIPS_ENDPOINT=true)", ""},
		{"FIPS false", map[string]string{"AWS_USE_FIPS_ENDPOINT": "FALSE"}, nil, statusOK, "https://sts.us-east-1.amazonaws.com, region us-east-1 (from the default of the role's partition), partition aws", ""},
		{"dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "True"}, []string{"--region", "eu-west-1"}, statusOK, "https://sts.eu-west-1.api.aws, region eu-west-1 (from --region), partition aws (AWS_USE_DUALSTACK_ENDPOINT=true)", ""},
		{"FIPS and dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_USE_FIPS_ENDPOINT": "true"}, nil, statusOK, "https://sts-fips.us-east-1.api.aws, region us-east-1 (from the default of the role's partition), partition aws (AWS_USE_FIPS_ENDPOINT=true and AWS_USE_DUALSTACK_ENDPOINT=true)", ""},
		{"FIPS with a custom endpoint", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_ENDPOINT_URL_STS": "https://sts.example.com"}, nil, statusOK, "https://sts.example.com (custom, from AWS_ENDPOINT_URL_STS)", ""},
		{"custom", map[string]string{"AWS_ENDPOINT_URL_STS": "https://sts.example.com"}, nil, statusOK, "https://sts.example.com (custom, from AWS_ENDPOINT_URL_STS)", ""},
		{"plain http", nil, []string{"--endpoint-url", "http://sts.example.com"}, statusWarn, "custom, from --endpoint-url", "plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--role-arn", "arn:aws:iam::123456789012:role/ci", "--token-file", "/nonexistent", "--cache-dir", t.TempDir()}, tt.args...)
			d := newTestDoctor(t, tt.env, args...)
			got := d.checkEndpoint(t.Context())
			if got.Status != tt.status || !strings.Contains(got.Detail, tt.detail) || !strings.Contains(got.Hint, tt.hint) {
				t.Errorf("checkEndpoint() = %+v, want status %s, detail with %q, hint with %q", got, tt.status, tt.detail, tt.hint)
			}
		})
	}
}

func TestDoctorSTSUnreachable(t *testing.T) {
	f := newFixture(t)
	closed := ststest.NewServer()
	closed.Close()
	_, results := f.doctorRun(t, "--endpoint-url", closed.URL())
	got := last(results)
	if got.Check != "sts-clock" || got.Status != statusFail || !strings.Contains(got.Detail, "does not answer") || !strings.Contains(got.Hint, "HTTPS_PROXY") {
		t.Errorf("last check %+v", got)
	}
}
