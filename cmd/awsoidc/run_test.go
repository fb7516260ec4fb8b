package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/awsoidc/awsoidc/ststest"
)

// runInProcess runs the command in this process, as main does.
func runInProcess(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// TestRunVersion checks --version, and --version --verbose with the modules
// built in. There is no version subcommand.
func TestRunVersion(t *testing.T) {
	r := runInProcess(t, nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "awsoidc ") || !strings.Contains(r.stdout, "go1.") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runInProcess(t, nil, "--version", "--verbose")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "awsoidc ") || !strings.Contains(r.stdout, "github.com/spf13/cobra") {
		t.Errorf("--version --verbose: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	if r := runInProcess(t, nil, "version"); r.code != exitUsage || !strings.Contains(r.stderr, `unknown command "version"`) {
		t.Errorf("version: exit %d, stderr %q; want an unknown command", r.code, r.stderr)
	}
}

// TestHelpHasExamples checks that every subcommand's help has examples.
func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range []string{"", "credential-process", "env", "serve", "login", "logout"} {
		args := []string{"--help"}
		if cmd != "" {
			args = []string{cmd, "--help"}
		}
		r := runInProcess(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "awsoidc "+cmd) {
			t.Errorf("awsoidc %s --help: exit %d, no examples:\n%s", cmd, r.code, r.stdout)
		}
	}
}

// TestHelpIsShort checks that every command's description (its Long help)
// takes 5 lines or fewer: the depth is in the README and docs/cli.md.
func TestHelpIsShort(t *testing.T) {
	a := &app{secrets: &scrubber{}}
	root := a.rootCommand()
	for _, cmd := range append(root.Commands(), root) {
		if n := strings.Count(strings.TrimSpace(cmd.Long), "\n") + 1; cmd.Long == "" || n > 5 {
			t.Errorf("%s: Long help of %d lines, want 1 to 5", cmd.CommandPath(), n)
		}
	}
}

// TestRunInProcessEnv runs credential-process in this process with an
// environment that is not the process's own: every AWS_* variable is read
// through the getenv given to run.
func TestRunInProcessEnv(t *testing.T) {
	f := newFixture(t)
	env := map[string]string{
		"AWS_ROLE_ARN":                f.role,
		"AWS_WEB_IDENTITY_TOKEN_FILE": f.tokenFile,
		"AWS_ENDPOINT_URL_STS":        f.srv.URL(),
		"AWS_DEFAULT_REGION":          "eu-central-1",
		"XDG_CACHE_HOME":              t.TempDir(),
	}
	r := runInProcess(t, env, "credential-process")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	processJSON(t, r.stdout)
	r = runInProcess(t, env, "credential-process", "--quiet")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("warm --quiet: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
	}
}

// TestServeInProcessShutdown runs serve in this process and stops it by
// cancelling the context, as SIGINT does through main.
func TestServeInProcessShutdown(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	stdout := newLineWriter()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, f.args("serve"), strings.NewReader(""), stdout, &stderr, func(string) string { return "" })
	}()
	select {
	case <-stdout.lines:
	case code := <-done:
		t.Fatalf("serve exited with %d before printing:\n%s", code, stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited with %d after cancel:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "export AWS_CONTAINER_CREDENTIALS_FULL_URI='http://127.0.0.1:") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// lineWriter is a concurrency-safe writer that signals each write.
type lineWriter struct {
	buf   chan []byte
	lines chan struct{}
	all   bytes.Buffer
}

func newLineWriter() *lineWriter {
	w := &lineWriter{lines: make(chan struct{}, 64), buf: make(chan []byte, 1)}
	w.buf <- nil
	return w
}

func (w *lineWriter) Write(p []byte) (int, error) {
	<-w.buf
	w.all.Write(p)
	w.buf <- nil
	select {
	case w.lines <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	<-w.buf
	defer func() { w.buf <- nil }()
	return w.all.String()
}
