package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/ststest"
)

// bin is the awsoidc binary built once by TestMain; the tests run it as a
// subprocess, as the AWS CLI and the SDKs do.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "awsoidc-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "awsoidc")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building awsoidc:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is an ststest server with one role, a token file that role
// trusts and an empty cache directory.
type fixture struct {
	t         testing.TB
	srv       *ststest.Server
	role      string
	token     string
	tokenFile string
	cacheDir  string
	home      string
}

func newFixture(t testing.TB, optFns ...func(*ststest.Options)) *fixture {
	t.Helper()
	srv := ststest.NewServer(optFns...)
	t.Cleanup(srv.Close)
	f := &fixture{
		t:        t,
		srv:      srv,
		role:     srv.AddRole(ststest.Role{Name: "cli-test"}),
		cacheDir: filepath.Join(t.TempDir(), "cache"),
		home:     t.TempDir(),
	}
	f.token = srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:ci:deployer"})
	f.tokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f.tokenFile, []byte(f.token), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// args returns cmd followed by the flags of a working credential command.
func (f *fixture) args(cmd string, extra ...string) []string {
	return append([]string{cmd,
		"--role-arn", f.role,
		"--token-file", f.tokenFile,
		"--endpoint-url", f.srv.URL(),
		"--cache-dir", f.cacheDir,
	}, extra...)
}

// env is the environment of a subprocess: nothing from the test's own
// environment but PATH, and a private HOME.
func (f *fixture) env(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.home, "XDG_CACHE_HOME=" + filepath.Join(f.home, ".cache")}, extra...)
}

// result is what a run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary to completion.
func (f *fixture) run(env []string, args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			f.t.Fatalf("running awsoidc %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// mustRun runs the binary and fails the test unless it exits 0.
func (f *fixture) mustRun(env []string, args ...string) result {
	f.t.Helper()
	r := f.run(env, args...)
	if r.code != 0 {
		f.t.Fatalf("awsoidc %s: exit %d\nstderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// processJSON parses credential-process output.
func processJSON(t testing.TB, out string) processOutput {
	t.Helper()
	var p processOutput
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("credential-process output %q: %v", out, err)
	}
	return p
}

// assertNoSecrets fails when text contains any of the secrets.
func assertNoSecrets(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s contains a secret (%d characters long, starting %.4q):\n%s", where, len(s), s, text)
		}
	}
}

// proc is a running subprocess whose stderr is read line by line.
type proc struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	mu     sync.Mutex
	stderr strings.Builder
	lines  chan string // stderr lines, as they come; closed at EOF
	done   chan struct{}
}

// start starts the binary without waiting for it.
func (f *fixture) start(env []string, args ...string) *proc {
	f.t.Helper()
	return f.startWith(nil, env, args...)
}

// startWith is start with the process attributes set by attr.
func (f *fixture) startWith(attr func(*syscall.SysProcAttr), env []string, args ...string) *proc {
	f.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if attr != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		attr(cmd.SysProcAttr)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: stdout, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	f.t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.wait()
		}
	})
	return p
}

// waitLine waits until a stderr line contains substr.
func (p *proc) waitLine(ctx context.Context, substr string) error {
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return fmt.Errorf("stderr ended before a line with %q:\n%s", substr, p.errText())
			}
			if strings.Contains(line, substr) {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for a stderr line with %q: %w\n%s", substr, ctx.Err(), p.errText())
		}
	}
}

// wait waits for the process to exit, after its stderr is read, and
// returns its exit code.
func (p *proc) wait() int {
	<-p.done
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}
