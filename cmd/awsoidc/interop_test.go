package main

// Interop tests: the clients people point at awsoidc — the AWS CLI v1
// (botocore), boto3 and the AWS SDK for JavaScript v3 — run as
// subprocesses against credential-process and serve, with ststest as STS.
// ststest's GetCallerIdentity checks the SigV4 signature made with the
// credentials it issued, so a caller ARN back means the client signed with
// awsoidc's credentials.
//
// A missing client skips its test with a message that says how to install
// it; with AWSOIDC_INTEROP=1 (as .ci/run sets when the clients are there)
// a missing client fails the test instead. The JS SDK is installed with
//
//	(cd cmd/awsoidc/testdata/interop && npm ci --no-audit --no-fund)
//
// and every test runs with
//
//	AWSOIDC_INTEROP=1 go test -count=1 -v -run '^TestInterop' ./cmd/awsoidc/

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/ststest"
)

const (
	// interopRequired is the variable that turns a missing client into a
	// failure.
	interopRequired = "AWSOIDC_INTEROP"
	// interopDir holds the JS package (package.json, package-lock.json,
	// node_modules after npm ci) and the client scripts.
	interopDir = "testdata/interop"
	// interopClientTimeout bounds every client process. Each one makes a
	// few requests on loopback and takes a second or two.
	interopClientTimeout = time.Minute
	// interopServeTimeout bounds a serve process: it is killed then, if the
	// test has not stopped it.
	interopServeTimeout = 3 * time.Minute
	// interopBoto3Calls is how many GetCallerIdentity calls boto3 makes in
	// one process against serve.
	interopBoto3Calls = 20
)

// The container-credentials variables that serve may print, beside
// envContainerFullURI and envContainerAuthToken.
const interopEnvAuthFile = envContainerAuthToken + "_FILE" // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE

// interopMissing skips t because client is missing, or fails it when
// AWSOIDC_INTEROP=1.
func interopMissing(t *testing.T, client, why, install string) {
	t.Helper()
	msg := fmt.Sprintf("interop: %s is not available (%s); %s", client, why, install)
	if os.Getenv(interopRequired) == "1" {
		t.Fatalf("%s; %s=1 requires every client", msg, interopRequired)
	}
	t.Skipf("%s; set %s=1 to make this a failure", msg, interopRequired)
}

// interopSkipOS skips the tests where clients are run through POSIX shells
// and serve is stopped with SIGTERM.
func interopSkipOS(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("interop: the tests quote commands for POSIX shells and stop serve with SIGTERM")
	}
}

// interopProbe runs a client's version or import check in a bare
// environment and returns its combined output.
func interopProbe(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), interopClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// interopNeedAWSCLI returns the path of the AWS CLI, or skips t.
func interopNeedAWSCLI(t *testing.T) string {
	t.Helper()
	interopSkipOS(t)
	const install = "install the AWS CLI v1 (pip install awscli) or v2 and put aws on PATH"
	path, err := exec.LookPath("aws")
	if err != nil {
		interopMissing(t, "the AWS CLI", "aws is not on PATH", install)
	}
	if out, err := interopProbe(t, path, "--version"); err != nil {
		interopMissing(t, "the AWS CLI", fmt.Sprintf("aws --version: %v: %s", err, out), install)
	} else {
		t.Logf("interop: %s", out)
	}
	return path
}

// interopNeedBoto3 returns the path of a python3 that imports boto3, or
// skips t.
func interopNeedBoto3(t *testing.T) string {
	t.Helper()
	interopSkipOS(t)
	const install = "install boto3 for python3 (pip install boto3; the AWS CLI v1 brings botocore but not boto3)"
	path, err := exec.LookPath("python3")
	if err != nil {
		interopMissing(t, "boto3", "python3 is not on PATH", install)
	}
	out, err := interopProbe(t, path, "-c", "import boto3, botocore; print('boto3', boto3.__version__, 'botocore', botocore.__version__)")
	if err != nil {
		interopMissing(t, "boto3", fmt.Sprintf("python3 -c 'import boto3': %v: %s", err, out), install)
	}
	t.Logf("interop: %s", out)
	return path
}

// interopNeedJS returns the path of node, or skips t unless Node.js 20 or
// later and the JS SDK installed in testdata/interop are there.
func interopNeedJS(t *testing.T) string {
	t.Helper()
	interopSkipOS(t)
	const install = "install Node.js 20 or later, then run: (cd cmd/awsoidc/testdata/interop && npm ci --no-audit --no-fund)"
	path, err := exec.LookPath("node")
	if err != nil {
		interopMissing(t, "the AWS SDK for JavaScript v3", "node is not on PATH", install)
	}
	out, err := interopProbe(t, path, "--version")
	if err != nil {
		interopMissing(t, "the AWS SDK for JavaScript v3", fmt.Sprintf("node --version: %v: %s", err, out), install)
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(out, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 20 {
		interopMissing(t, "the AWS SDK for JavaScript v3", "node "+out+" is older than the SDK's minimum, 20", install)
	}
	var versions []string
	for _, pkg := range []string{"client-sts", "credential-providers"} {
		b, err := os.ReadFile(filepath.Join(interopDir, "node_modules", "@aws-sdk", pkg, "package.json"))
		var meta struct{ Version string }
		if err == nil {
			err = json.Unmarshal(b, &meta)
		}
		if err != nil {
			interopMissing(t, "the AWS SDK for JavaScript v3", fmt.Sprintf("@aws-sdk/%s is not installed in %s: %v", pkg, interopDir, err), install)
		}
		versions = append(versions, "@aws-sdk/"+pkg+" "+meta.Version)
	}
	t.Logf("interop: node %s, %s", out, strings.Join(versions, ", "))
	return path
}

// interopResult is what a client process produced.
type interopResult struct {
	stdout, stderr string
	code           int
}

// interopRun runs a client process to completion within
// interopClientTimeout, with stdin empty.
func interopRun(t *testing.T, env []string, dir, name string, args ...string) interopResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), interopClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := interopResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			t.Fatalf("%s %s: %v (ctx: %v)\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, ctx.Err(), r.stdout, r.stderr)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// interopClientEnv is the environment of a client: the fixture's (PATH and
// a private HOME), the AWS config file given (or an empty one), an empty
// shared credentials file, the region, STS at ststest, no instance
// metadata, and extra.
func interopClientEnv(t *testing.T, f *fixture, configFile string, extra ...string) []string {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if configFile == "" {
		configFile = empty
	}
	env := f.env(
		"AWS_CONFIG_FILE="+configFile,
		"AWS_SHARED_CREDENTIALS_FILE="+empty,
		"AWS_DEFAULT_REGION="+ststest.DefaultRegion,
		"AWS_REGION="+ststest.DefaultRegion,
		"AWS_ENDPOINT_URL_STS="+f.srv.URL(),
		"AWS_EC2_METADATA_DISABLED=true",
	)
	return append(env, extra...)
}

// interopPlainWord matches the words that need no quotes in a shell.
var interopPlainWord = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// interopShellWord quotes s for the credential_process line, which
// botocore splits with shlex and the JS SDK runs through /bin/sh.
func interopShellWord(s string) string {
	if interopPlainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// interopConfigFile writes an AWS config file with one profile per entry
// of profiles, whose credential_process runs the built binary with those
// arguments, and returns its path.
func interopConfigFile(t *testing.T, profiles map[string][]string) string {
	t.Helper()
	var b strings.Builder
	for name, args := range profiles {
		words := []string{interopShellWord(bin)}
		for _, a := range args {
			words = append(words, interopShellWord(a))
		}
		fmt.Fprintf(&b, "[profile %s]\ncredential_process = %s\n\n", name, strings.Join(words, " "))
	}
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// interopCallerARN parses a GetCallerIdentity answer printed as JSON
// (the AWS CLI's --output json, callerid.mjs) and checks that it is a
// session of the fixture's role.
func interopCallerARN(t *testing.T, client string, r interopResult, f *fixture) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", client, r.code, r.stdout, r.stderr)
	}
	var out struct{ Arn, Account string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%s printed %q: %v\nstderr:\n%s", client, r.stdout, err, r.stderr)
	}
	if want := interopAssumedPrefix(f.role); !strings.HasPrefix(out.Arn, want) || out.Account != ststest.DefaultAccountID {
		t.Errorf("%s: caller ARN %q in account %q, want a session %s* in %s", client, out.Arn, out.Account, want, ststest.DefaultAccountID)
	}
}

// interopAssumedPrefix returns the prefix of the assumed-role session ARNs
// of roleARN ("arn:aws:iam::123456789012:role/cli-test" gives
// "arn:aws:sts::123456789012:assumed-role/cli-test/").
func interopAssumedPrefix(roleARN string) string {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 {
		return roleARN
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	return "arn:" + parts[1] + ":sts::" + parts[4] + ":assumed-role/" + name + "/"
}

// interopServe is a running "awsoidc serve --verbose" and the
// AWS_CONTAINER_* variables it printed.
type interopServe struct {
	cmd     *exec.Cmd
	vars    map[string]string // the AWS_CONTAINER_* variables printed on stdout
	drained chan struct{}     // closed when stdout is read to EOF
	stderr  interopBuffer
	stopped bool
}

// interopBuffer is a bytes.Buffer safe for the writer exec runs and the
// test reading it.
type interopBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *interopBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *interopBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// interopStartServe starts serve with its default output format (sh) and
// reads the export lines it prints once it listens. Every AWS_CONTAINER_*
// variable it prints is kept, whichever form of the authorization token
// (the token, or a file holding it) it chose.
func interopStartServe(t *testing.T, f *fixture) *interopServe {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), interopServeTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, f.args("serve", "--verbose")...)
	cmd.Env = f.env()
	cmd.WaitDelay = 5 * time.Second
	s := &interopServe{cmd: cmd, vars: map[string]string{}, drained: make(chan struct{})}
	cmd.Stderr = &s.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !s.stopped {
			_ = cmd.Process.Kill()
			<-s.drained
			_ = cmd.Wait()
		}
	})
	// The export lines are the readiness signal: read until the endpoint
	// and a form of the token are known and nothing more is buffered.
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if name, value, ok := interopParseExport(line); ok && strings.HasPrefix(name, "AWS_CONTAINER_") {
			s.vars[name] = value
		}
		_, haveToken := s.vars[envContainerAuthToken]
		_, haveFile := s.vars[interopEnvAuthFile]
		if s.vars[envContainerFullURI] != "" && (haveToken || haveFile) && r.Buffered() == 0 {
			break
		}
		if err != nil {
			_ = cmd.Process.Kill()
			_, _ = io.Copy(io.Discard, r)
			close(s.drained)
			s.stopped = true
			werr := cmd.Wait()
			t.Fatalf("serve printed %v before %v (exit: %v)\nstderr:\n%s", s.vars, err, werr, s.stderr.String())
		}
	}
	go func() {
		defer close(s.drained)
		_, _ = io.Copy(io.Discard, r)
	}()
	if uri := s.vars[envContainerFullURI]; !strings.HasPrefix(uri, "http://127.0.0.1:") {
		t.Fatalf("serve printed %s=%q", envContainerFullURI, uri)
	}
	names := slices.Sorted(maps.Keys(s.vars))
	t.Logf("serve printed %s", strings.Join(names, ", "))
	return s
}

// interopParseExport parses a line "export NAME=VALUE" of serve's sh
// output, VALUE quoted as shQuote does ('...' runs and "'" for a quote).
func interopParseExport(line string) (name, value string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "export ")
	if !ok {
		return "", "", false
	}
	name, quoted, ok := strings.Cut(rest, "=")
	if !ok {
		return "", "", false
	}
	var v strings.Builder
	for quoted != "" {
		q := quoted[0]
		if q != '\'' && q != '"' {
			return "", "", false
		}
		end := strings.IndexByte(quoted[1:], q)
		if end < 0 {
			return "", "", false
		}
		v.WriteString(quoted[1 : end+1])
		quoted = quoted[end+2:]
	}
	return name, v.String(), true
}

// env returns the printed variables as NAME=VALUE.
func (s *interopServe) env() []string {
	var env []string
	for k, v := range s.vars {
		env = append(env, k+"="+v)
	}
	return env
}

// token returns the authorization token, from the variable or the file.
func (s *interopServe) token(t *testing.T) string {
	t.Helper()
	if file := s.vars[interopEnvAuthFile]; file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("reading %s: %v", interopEnvAuthFile, err)
		}
		return strings.TrimSpace(string(b))
	}
	return s.vars[envContainerAuthToken]
}

// get makes one GET of the endpoint with auth as the Authorization header
// and returns the status and the decoded JSON body.
func (s *interopServe) get(t *testing.T, auth string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), interopClientTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.vars[envContainerFullURI], nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		t.Fatalf("endpoint answered %d with a body that is not a JSON object: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// stop sends SIGTERM and waits, within the process's own deadline, for a
// graceful exit.
func (s *interopServe) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.drained
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\nstderr:\n%s", err, s.stderr.String())
	}
}

// requests counts the endpoint requests serve logged ("credentials
// request", one Debug line each with --verbose). It is complete once serve
// is stopped.
func (s *interopServe) requests() int {
	return strings.Count(s.stderr.String(), "credentials request")
}

// TestInteropAWSCLI runs the AWS CLI against credential-process, through a
// profile, and against serve.
func TestInteropAWSCLI(t *testing.T) {
	aws := interopNeedAWSCLI(t)
	f := newFixture(t)
	untrusted := f.srv.AddRole(ststest.Role{Name: "untrusted", Subject: "system:serviceaccount:other:*"})
	badArgs := []string{"credential-process", "--role-arn", untrusted, "--token-file", f.tokenFile, "--endpoint-url", f.srv.URL(), "--cache-dir", f.cacheDir}
	config := interopConfigFile(t, map[string][]string{
		"p":         f.args("credential-process"),
		"untrusted": badArgs,
	})
	callerID := []string{"sts", "get-caller-identity", "--output", "json"}

	t.Run("credential-process", func(t *testing.T) {
		before := f.srv.Calls(ststest.ActionGetCallerIdentity)
		r := interopRun(t, interopClientEnv(t, f, config), "", aws, append(callerID, "--profile", "p")...)
		interopCallerARN(t, "aws sts get-caller-identity --profile p", r, f)
		if n := f.srv.Calls(ststest.ActionGetCallerIdentity) - before; n != 1 {
			t.Errorf("GetCallerIdentity calls = %d, want 1", n)
		}
		if strings.Contains(r.stderr+r.stdout, f.token) {
			t.Errorf("the AWS CLI's output contains the web identity token:\n%s%s", r.stdout, r.stderr)
		}
	})

	t.Run("credential-process fails", func(t *testing.T) {
		// What awsoidc says on its own, then what a person sees of it
		// through the CLI.
		direct := interopRun(t, f.env(), "", bin, badArgs...)
		msg := interopRequestID.ReplaceAllString(interopLastLine(direct.stderr), "$1")
		if direct.code == 0 || msg == "" {
			t.Fatalf("awsoidc with a role that does not trust the token: exit %d, stderr:\n%s", direct.code, direct.stderr)
		}
		r := interopRun(t, interopClientEnv(t, f, config), "", aws, append(callerID, "--profile", "untrusted")...)
		if r.code == 0 {
			t.Fatalf("aws sts get-caller-identity --profile untrusted succeeded:\n%s", r.stdout)
		}
		if !strings.Contains(interopRequestID.ReplaceAllString(r.stderr, "$1"), msg) {
			t.Errorf("the AWS CLI's stderr lacks awsoidc's message %q:\n%s", msg, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout+direct.stderr, f.token) {
			t.Errorf("the web identity token is printed:\nawsoidc:\n%s\naws:\n%s", direct.stderr, r.stderr)
		}
		t.Logf("the AWS CLI shows:\n%s", r.stderr)
	})

	t.Run("serve", func(t *testing.T) {
		s := interopStartServe(t, f)
		r := interopRun(t, interopClientEnv(t, f, "", s.env()...), "", aws, callerID...)
		interopCallerARN(t, "aws sts get-caller-identity (container endpoint)", r, f)
		s.stop(t)
		if strings.Contains(s.stderr.String(), f.token) {
			t.Errorf("serve's stderr contains the web identity token")
		}
	})
}

// interopRequestID matches the request ID in an STS error, which differs
// from one call to the next; $1 is the text without it.
var interopRequestID = regexp.MustCompile(`(RequestID: )[0-9A-Za-z-]+`)

// interopLastLine returns the last non-empty line of s.
func interopLastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// TestInteropServeExpiration checks the Expiration serve hands out: the
// credentials' real expiry (ststest issues them for 1 hour), which the
// SDKs' own refresh windows (botocore 15/10 minutes, JS and Go 5 minutes)
// are measured against.
func TestInteropServeExpiration(t *testing.T) {
	interopSkipOS(t)
	start := time.Now()
	f := newFixture(t)
	s := interopStartServe(t, f)
	defer s.stop(t)
	status, body := s.get(t, s.token(t))
	if status != http.StatusOK {
		t.Fatalf("GET with the token: %d %v", status, body)
	}
	raw, _ := body["Expiration"].(string)
	exp, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		t.Fatalf("Expiration %q: %v", raw, err)
	}
	// The credentials were issued between start and now, for 1 hour;
	// RFC 3339 seconds, a minute of slack.
	earliest, latest := start.Add(time.Hour-time.Minute), time.Now().Add(time.Hour+time.Minute)
	if exp.Before(earliest) || exp.After(latest) {
		t.Errorf("Expiration %s is %s away, want the credentials' real expiry, about 1h away (between %s and %s)",
			raw, time.Until(exp).Round(time.Second), earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
}

// TestInteropBoto3Serve makes 20 calls with boto3 in one process against
// serve, stops serve, and makes one more: boto3 must fetch once (the
// Expiration is the real one, far outside botocore's 15-minute refresh
// window) and keep working with the valid credentials it holds after serve
// is gone.
func TestInteropBoto3Serve(t *testing.T) {
	python := interopNeedBoto3(t)
	f := newFixture(t)
	s := interopStartServe(t, f)

	ctx, cancel := context.WithTimeout(t.Context(), interopClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "boto3_serve.py", f.srv.URL(), strconv.Itoa(interopBoto3Calls))
	cmd.Dir = interopDir
	cmd.Env = interopClientEnv(t, f, "", s.env()...)
	cmd.WaitDelay = 5 * time.Second
	var stderr interopBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	next := func(what string) map[string]any {
		t.Helper()
		if !lines.Scan() {
			_ = stdin.Close()
			_, _ = io.Copy(io.Discard, stdout)
			werr := cmd.Wait()
			t.Fatalf("boto3 printed no line %s (%v, exit: %v)\nstderr:\n%s", what, lines.Err(), werr, stderr.String())
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("boto3 printed %q %s: %v", lines.Text(), what, err)
		}
		return m
	}

	first := next(fmt.Sprintf("after %d calls", interopBoto3Calls))
	arns, _ := first["arns"].([]any)
	if len(arns) != 1 || !strings.HasPrefix(fmt.Sprint(arns[0]), interopAssumedPrefix(f.role)) {
		t.Errorf("boto3's caller ARNs: %v, want one session of %s", arns, f.role)
	}

	s.stop(t)
	if n := s.requests(); n != 1 {
		t.Errorf("boto3 made %d endpoint requests for %d calls, want 1: serve's Expiration must be the credentials' real expiry, outside botocore's refresh window", n, interopBoto3Calls)
	}

	// serve is gone; boto3 still holds credentials valid for about 1 hour.
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	_ = stdin.Close()
	after := next("after serve stopped")
	if arn, _ := after["arn"].(string); !strings.HasPrefix(arn, interopAssumedPrefix(f.role)) {
		t.Errorf("boto3's call after serve stopped: %v, want it to succeed with the credentials it holds", after)
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil && !t.Failed() {
		t.Errorf("boto3: %v\nstderr:\n%s", err, stderr.String())
	}
}

// TestInteropJS runs the AWS SDK for JavaScript v3 (callerid.mjs) with
// credentials from credential-process (fromProcess) and from serve
// (fromHttp, and the default chain), and against serve with a wrong token.
func TestInteropJS(t *testing.T) {
	node := interopNeedJS(t)
	f := newFixture(t)
	config := interopConfigFile(t, map[string][]string{"p": f.args("credential-process")})
	js := func(t *testing.T, env []string, mode string) interopResult {
		t.Helper()
		// The SDK warns on stderr that its releases from 2027 need Node.js 22.
		env = append(env, "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true")
		return interopRun(t, env, interopDir, node, "callerid.mjs", mode, f.srv.URL())
	}

	t.Run("fromProcess", func(t *testing.T) {
		r := js(t, interopClientEnv(t, f, config, "AWS_PROFILE=p"), "process")
		interopCallerARN(t, "JS SDK fromProcess", r, f)
	})

	s := interopStartServe(t, f)
	defer s.stop(t)

	t.Run("fromHttp", func(t *testing.T) {
		r := js(t, interopClientEnv(t, f, "", s.env()...), "http")
		interopCallerARN(t, "JS SDK fromHttp", r, f)
	})

	t.Run("default chain", func(t *testing.T) {
		r := js(t, interopClientEnv(t, f, "", s.env()...), "default")
		interopCallerARN(t, "JS SDK default chain", r, f)
	})

	t.Run("fromHttp wrong token", func(t *testing.T) {
		const wrong = "not-the-token"
		// serve's own words for the refusal, as any client gets them.
		status, body := s.get(t, wrong)
		msg, _ := body["Message"].(string)
		if msg == "" {
			msg, _ = body["message"].(string)
		}
		if status != http.StatusForbidden || msg == "" {
			t.Fatalf("GET with a wrong token: %d %v", status, body)
		}
		env := interopClientEnv(t, f, "", envContainerFullURI+"="+s.vars[envContainerFullURI], envContainerAuthToken+"="+wrong)
		r := js(t, env, "http")
		if r.code == 0 {
			t.Fatalf("JS SDK with a wrong token got through:\n%s", r.stdout)
		}
		if !strings.Contains(r.stderr, msg) {
			t.Errorf("the JS SDK's error lacks serve's message %q (serve's error body: %v; the SDK reads the keys Code and Message):\n%s", msg, body, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, s.token(t)) {
			t.Errorf("the JS SDK's output contains serve's token")
		}
	})
}
