package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/examples/internal/exampletest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lineWriter collects output and signals the first line that contains want.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// The daemon does its work, logs the refresh as JSON, and on cancellation
// (SIGTERM in production) stops with no goroutine left behind.
func TestDaemonRunsAndShutsDown(t *testing.T) {
	env := exampletest.Setup(t)
	stdout := &lineWriter{want: "identity arn:aws:sts::123456789012:assumed-role/example/", seen: make(chan struct{})}
	stderr := &lineWriter{want: `"msg":"credentials refresh"`, seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-role-arn", env.RoleARN, "-token-file", env.TokenFile, "-every", "1h"}, stdout, stderr)
	}()
	for _, w := range []*lineWriter{stdout, stderr} {
		select {
		case <-w.seen:
		case err := <-done:
			t.Fatalf("run() returned early: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
		case <-time.After(30 * time.Second):
			t.Fatalf("no %q in output\nstdout: %s\nstderr: %s", w.want, stdout, stderr)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run() = %v", err)
	}
	logs := stderr.String()
	for _, want := range []string{`"outcome":"fetched"`, `"msg":"shutting down"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs+stdout.String(), "eyJ") {
		t.Error("output contains a JWT")
	}
	if got := env.Server.Calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", got)
	}
}

func TestDaemonRejectsBadInput(t *testing.T) {
	env := exampletest.Setup(t)
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-role-arn", env.RoleARN, "-token-file", env.TokenFile, "-every", "0s"}, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-every") {
		t.Fatalf("run() = %v, want an error naming -every", err)
	}
	err = run(context.Background(), []string{"-role-arn", "arn:aws:iam::1:role/x", "-token-file", env.TokenFile}, &bytes.Buffer{}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "roleARN") {
		t.Fatalf("run() = %v, want an error naming roleARN", err)
	}
	if got := env.Server.Calls("AssumeRoleWithWebIdentity"); got != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", got)
	}
}
