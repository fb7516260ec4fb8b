package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/ststest"
)

// The child that exec runs in these tests is this test binary again, in a
// helper mode chosen by envExecChild, as os/exec's own tests do. init runs
// it before TestMain builds anything.
const (
	envExecChild  = "AWSOIDC_TEST_EXEC_CHILD"  // the helper mode
	envExecSTSURL = "AWSOIDC_TEST_EXEC_STSURL" // the ststest server, for the child's STS client
)

func init() {
	if mode := os.Getenv(envExecChild); mode != "" {
		os.Exit(execChild(mode))
	}
}

// execChildReport is what the "sts" and "env" children print on stdout.
type execChildReport struct {
	Env    map[string]string `json:"env"` // the variables of interest the child has
	ARN    string            `json:"arn,omitempty"`
	Source string            `json:"source,omitempty"`
	Creds  []string          `json:"creds,omitempty"` // the access key ID, secret access key and session token the SDK got
}

// execChild is the helper's main: it returns its exit status.
func execChild(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "exec test child:", err); return 3 }
	switch mode {
	case "env": // print the environment of interest
		return execChildPrint(execChildReport{Env: execChildEnv()})
	case "sts": // the SDK's default chain, then GetCallerIdentity
		r := execChildReport{Env: execChildEnv()}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
		if err != nil {
			return fail(err)
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return fail(err)
		}
		r.Source, r.Creds = creds.Source, []string{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken}
		if r.ARN, err = callerARN(ctx, cfg.Credentials); err != nil {
			return fail(err)
		}
		return execChildPrint(r)
	case "refresh": // endpointcreds twice, across a refresh the test brings about
		p := endpointcreds.New(os.Getenv(envContainerFullURI), func(o *endpointcreds.Options) {
			o.AuthorizationToken = os.Getenv(envContainerAuthToken)
		})
		first, err := p.Retrieve(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("first %s\n", first.AccessKeyID)
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return fail(err)
		}
		// The test saw the refresh reach STS; its answer reaches the cache
		// a moment later. Bounded by ctx.
		second := first
		for second.AccessKeyID == first.AccessKeyID {
			if second, err = p.Retrieve(ctx); err != nil {
				return fail(err)
			}
		}
		for _, c := range []aws.Credentials{first, second} {
			if _, err := callerARN(ctx, credentials.StaticCredentialsProvider{Value: c}); err != nil {
				return fail(fmt.Errorf("GetCallerIdentity with %s: %w", c.AccessKeyID, err))
			}
		}
		fmt.Printf("second %s %s\n", second.AccessKeyID, second.Expires.UTC().Format(time.RFC3339))
		return 0
	case "exit":
		n, _ := strconv.Atoi(os.Getenv("AWSOIDC_TEST_EXEC_STATUS"))
		return n
	case "trap": // report the first signal, then exit 42
		sigc := make(chan os.Signal, 1)
		signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		fmt.Println("ready")
		select {
		case sig := <-sigc:
			fmt.Printf("got %v\n", sig)
			return 42
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	case "wait": // die of whatever signal comes
		fmt.Println("ready")
		<-ctx.Done()
		return fail(ctx.Err())
	}
	return fail(fmt.Errorf("unknown mode %q", mode))
}

func execChildEnv() map[string]string {
	env := make(map[string]string)
	for _, name := range append(slices.Clone(childHiddenVars), "AWS_REGION", "AWSOIDC_TEST_KEEP") {
		if v, ok := os.LookupEnv(name); ok {
			env[name] = v
		}
	}
	return env
}

func execChildPrint(r execChildReport) int {
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 3
	}
	return 0
}

// callerARN signs GetCallerIdentity with creds against the test's ststest.
func callerARN(ctx context.Context, creds aws.CredentialsProvider) (string, error) {
	client := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(os.Getenv(envExecSTSURL)),
		Credentials:  creds,
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

// execArgs is "awsoidc exec" with the fixture's flags, extra flags, then
// "--" and this test binary as the command.
func execArgs(f *fixture, extra ...string) []string {
	return append(f.args("exec", extra...), "--", os.Args[0])
}

// childEnvOf is the fixture's environment with the helper mode.
func childEnvOf(f *fixture, mode string, extra ...string) []string {
	return f.env(append([]string{envExecChild + "=" + mode, envExecSTSURL + "=" + f.srv.URL()}, extra...)...)
}

// staticVars are variables that would make an SDK use another source than
// exec's endpoint.
var staticVars = []string{
	"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
	"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"AWS_SESSION_TOKEN=static-session-token",
	"AWS_SECURITY_TOKEN=static-session-token",
	"AWS_PROFILE=nonexistent",
	"AWS_DEFAULT_PROFILE=nonexistent",
	"AWS_CREDENTIAL_EXPIRATION=2000-01-01T00:00:00Z",
	"AWS_ACCOUNT_ID=000000000000",
	"AWS_ROLE_ARN=arn:aws:iam::000000000000:role/other",
	"AWS_ROLE_SESSION_NAME=other",
	"AWS_WEB_IDENTITY_TOKEN_FILE=/nonexistent/token",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:1/",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/nonexistent/token",
	"AWS_REGION=eu-west-1",
	"AWSOIDC_TEST_KEEP=kept",
}

func decodeReport(t *testing.T, r result) execChildReport {
	t.Helper()
	var rep execChildReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("child's report %q: %v (exit %d)\nstderr:\n%s", r.stdout, err, r.code, r.stderr)
	}
	return rep
}

// TestExecEndpointCreds runs a child that loads the SDK's default
// configuration with an environment full of other credentials: exec
// removed them, so the SDK used exec's endpoint, and its credentials sign
// GetCallerIdentity as the role. No secret reaches exec's stderr, even
// with --verbose.
func TestExecEndpointCreds(t *testing.T) {
	f := newFixture(t)
	r := f.run(childEnvOf(f, "sts", staticVars...), execArgs(f, "--verbose")...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeReport(t, r)
	if rep.Source != endpointcreds.ProviderName {
		t.Errorf("the SDK got its credentials from %q, want %q", rep.Source, endpointcreds.ProviderName)
	}
	if !strings.Contains(rep.ARN, ":assumed-role/cli-test/") {
		t.Errorf("caller ARN = %q", rep.ARN)
	}
	uri, token := rep.Env[envContainerFullURI], rep.Env[envContainerAuthToken]
	if !strings.HasPrefix(uri, "http://127.0.0.1:") || uri == "http://127.0.0.1:1/" || len(token) != 43 {
		t.Errorf("child got %s=%q and a token of %d characters", envContainerFullURI, uri, len(token))
	}
	for name := range rep.Env {
		if name != envContainerFullURI && name != envContainerAuthToken && slices.Contains(childHiddenVars, name) {
			t.Errorf("the child has %s=%q", name, rep.Env[name])
		}
	}
	if rep.Env["AWS_REGION"] != "eu-west-1" || rep.Env["AWSOIDC_TEST_KEEP"] != "kept" {
		t.Errorf("other variables were not passed on: %v", rep.Env)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
	}
	if len(rep.Creds) != 3 || rep.Creds[1] == "" || rep.Creds[2] == "" {
		t.Fatalf("the child reported %d credential values", len(rep.Creds))
	}
	assertNoSecrets(t, "exec's stderr", r.stderr, token, rep.Creds[1], rep.Creds[2], f.token)
}

// TestExecRefresh has the child ask exec's endpoint twice with the SDK's
// endpointcreds, across a refresh of exec's cache. ststest's clock runs
// 50 minutes minus 3 seconds behind, and exec reaches it through a proxy
// that stamps answers with the real Date, so that the provider takes the
// stated Expiration as it is (it corrects only a Date consistent with it):
// the 1-hour credentials expire in 10 minutes and 3 seconds, which exec's
// cache sees as 3 seconds (serve's 10-minute lead), so it refreshes within
// them. Once the child has its first credentials, the clock is set right;
// the test waits for the next AssumeRoleWithWebIdentity, then lets the
// child ask again: it gets new credentials, valid for an hour, and both
// sign GetCallerIdentity.
func TestExecRefresh(t *testing.T) {
	var offset atomic.Int64
	offset.Store(int64(-(50*time.Minute - 3*time.Second)))
	f := newFixture(t, func(o *ststest.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	target, err := url.Parse(f.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			return nil
		},
	})
	defer transport.CloseIdleConnections()
	defer proxy.Close()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args := []string{"exec", "--role-arn", f.role, "--token-file", f.tokenFile, "--endpoint-url", proxy.URL, "--cache-dir", f.cacheDir, "--verbose", "--", os.Args[0]}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnvOf(f, "refresh")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(out)
	first, err := lines.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "first ") {
		_ = stdin.Close()
		_ = cmd.Wait()
		t.Fatalf("child's first line %q: %v\nstderr:\n%s", first, err, stderr.String())
	}
	offset.Store(0)
	n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
	werr := f.srv.WaitCalls(ctx, ststest.ActionAssumeRoleWithWebIdentity, n+1)
	_, _ = io.WriteString(stdin, "go\n")
	_ = stdin.Close()
	second, _ := lines.ReadString('\n')
	_, _ = io.Copy(io.Discard, lines)
	if err := cmd.Wait(); err != nil || werr != nil {
		t.Fatalf("exec: %v; waiting for a refresh: %v\nstderr:\n%s", err, werr, stderr.String())
	}
	fields := strings.Fields(second)
	if len(fields) != 3 || fields[0] != "second" {
		t.Fatalf("child's second line %q", second)
	}
	if key1 := strings.TrimSpace(strings.TrimPrefix(first, "first ")); fields[1] == key1 {
		t.Errorf("the same key %s before and after the refresh", key1)
	}
	exp, err := time.Parse(time.RFC3339, fields[2])
	if left := time.Until(exp); err != nil || left < 58*time.Minute || left > 61*time.Minute {
		t.Errorf("new credentials expire at %q (%v), want the real expiry, an hour away", fields[2], err)
	}
}

// TestExecExitStatus checks that exec exits with the child's status, 127
// for a command not found, 2 without a command, and 1, without running the
// command, when there are no credentials.
func TestExecExitStatus(t *testing.T) {
	f := newFixture(t)
	for _, status := range []int{0, 3, 125} {
		r := f.run(childEnvOf(f, "exit", "AWSOIDC_TEST_EXEC_STATUS="+strconv.Itoa(status)), execArgs(f)...)
		if r.code != status {
			t.Errorf("child exited %d: exec exited %d\n%s", status, r.code, r.stderr)
		}
		if r.stderr != "" {
			t.Errorf("child exited %d: exec's stderr %q", status, r.stderr)
		}
	}
	r := f.run(f.env(), append(f.args("exec"), "--", "awsoidc-no-such-command")...)
	if r.code != exitNotFound || !strings.Contains(r.stderr, `awsoidc: exec: exec: "awsoidc-no-such-command": executable file not found`) {
		t.Errorf("command not found: exit %d\n%s", r.code, r.stderr)
	}
	r = f.run(f.env(), f.args("exec")...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "needs a command to run") {
		t.Errorf("no command: exit %d\n%s", r.code, r.stderr)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1 (stored credentials, none without a command)", n)
	}
	f.srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "AccessDenied", Times: -1})
	for _, extra := range [][]string{{"--no-cache"}, {"--no-cache", "--env"}} {
		r = f.run(childEnvOf(f, "env"), execArgs(f, extra...)...)
		if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "AccessDenied") {
			t.Errorf("exec %s without credentials: exit %d, stdout %q, stderr:\n%s", extra, r.code, r.stdout, r.stderr)
		}
	}
}

// TestExecForwardsSignals sends SIGTERM and SIGHUP to exec: the child gets
// them; a child that handles one exits with its own status, one that dies
// of SIGTERM makes exec exit 128+15. SIGINT is forwarded too when exec has
// no terminal (here): from a terminal, the child gets it from there.
func TestExecForwardsSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no signals to forward on Windows")
	}
	f := newFixture(t)
	for _, tc := range []struct {
		mode     string
		sig      syscall.Signal
		want     int
		wantLine string
	}{
		{"trap", syscall.SIGTERM, 42, "got terminated"},
		{"trap", syscall.SIGHUP, 42, "got hangup"},
		{"trap", syscall.SIGINT, 42, "got interrupt"},
		{"wait", syscall.SIGTERM, exitSignalBase + int(syscall.SIGTERM), ""},
	} {
		t.Run(tc.mode+" "+tc.sig.String(), func(t *testing.T) {
			// A new session: no terminal, whatever runs the tests.
			p := f.startWith(setsid, childEnvOf(f, tc.mode), execArgs(f)...)
			lines := bufio.NewReader(p.stdout)
			if line, err := lines.ReadString('\n'); line != "ready\n" {
				t.Fatalf("child's first line %q: %v (exit %d)\n%s", line, err, p.wait(), p.errText())
			}
			if err := p.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(lines)
			if code := p.wait(); code != tc.want {
				t.Errorf("exec exited %d, want %d\n%s", code, tc.want, p.errText())
			}
			if !strings.Contains(string(rest), tc.wantLine) {
				t.Errorf("child printed %q, want %q", rest, tc.wantLine)
			}
		})
	}
}

// TestExecEnv checks --env: the child gets the credentials in plain
// variables, as "awsoidc env" prints them, and no endpoint.
func TestExecEnv(t *testing.T) {
	f := newFixture(t)
	r := f.run(childEnvOf(f, "env", staticVars...), execArgs(f, "--env")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	env := decodeReport(t, r).Env
	sessions := f.srv.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d STS sessions, want 1", len(sessions))
	}
	if env["AWS_ACCESS_KEY_ID"] != sessions[0].AccessKeyID || env["AWS_SECRET_ACCESS_KEY"] == "" || env["AWS_SESSION_TOKEN"] == "" {
		t.Errorf("child's credentials: key %q want %q, secret and token set: %t, %t", env["AWS_ACCESS_KEY_ID"], sessions[0].AccessKeyID, env["AWS_SECRET_ACCESS_KEY"] != "", env["AWS_SESSION_TOKEN"] != "")
	}
	if env["AWS_SESSION_TOKEN"] == "static-session-token" || env["AWS_ACCOUNT_ID"] != ststest.DefaultAccountID {
		t.Errorf("the child's variables are not the new credentials': %v", keysOf(env))
	}
	// As env prints it: the real expiry.
	if want := sessions[0].Expiration.UTC().Format(time.RFC3339); env["AWS_CREDENTIAL_EXPIRATION"] != want {
		t.Errorf("AWS_CREDENTIAL_EXPIRATION=%q, want %q", env["AWS_CREDENTIAL_EXPIRATION"], want)
	}
	for _, name := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", envRoleARN, envTokenFile, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", envContainerFullURI, envContainerAuthToken, envContainerAuthTokenFile} {
		if v, ok := env[name]; ok {
			t.Errorf("the child has %s=%q", name, v)
		}
	}
	if env["AWS_REGION"] != "eu-west-1" {
		t.Errorf("AWS_REGION=%q, want it passed on", env["AWS_REGION"])
	}
	assertNoSecrets(t, "exec's stderr", r.stderr, env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"], f.token)
}

func keysOf(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestChildEnv checks the environment a child gets.
func TestChildEnv(t *testing.T) {
	environ := []string{"PATH=/bin", "AWS_PROFILE=dev", "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=x", "AWS_PROFILE_X=keep", "=C:=C:\\", "EMPTY="}
	got := childEnv(environ, []envVar{{envContainerFullURI, "http://127.0.0.1:1/"}})
	want := []string{"PATH=/bin", "AWS_REGION=eu-west-1", "AWS_PROFILE_X=keep", "=C:=C:\\", "EMPTY=", envContainerFullURI + "=http://127.0.0.1:1/"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}

// TestExecStatusInProcess runs exec in this process, as main does: run
// returns the command's own exit status (no os.Exit inside the command).
func TestExecStatusInProcess(t *testing.T) {
	f := newFixture(t)
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": f.home}
	for _, tc := range []struct {
		argv []string
		want int
	}{
		{[]string{"sh", "-c", "exit 3"}, 3},
		{[]string{"sh", "-c", "exit 0"}, 0},
		{[]string{"awsoidc-no-such-command"}, exitNotFound},
	} {
		r := runInProcess(t, env, append(f.args("exec", "--"), tc.argv...)...)
		if r.code != tc.want {
			t.Errorf("exec %v: run returned %d, want %d\nstderr:\n%s", tc.argv, r.code, tc.want, r.stderr)
		}
	}
}
