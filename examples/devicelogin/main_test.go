package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/internal/testenv"
	"github.com/awsoidc/awsoidc/ststest"
)

func TestMain(m *testing.M) {
	testenv.Isolate()
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the prompt's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun signs in against ststest with a scripted approval, then runs
// again without any login or STS call.
func TestRun(t *testing.T) {
	srv := ststest.NewServer()
	defer srv.Close()
	srv.AddClient(ststest.Client{ID: "devicelogin"})
	role := srv.AddRole(ststest.Role{Name: "developer", Audience: "devicelogin", Subject: "alice"})
	o := options{
		issuer:      srv.Issuer(),
		clientID:    "devicelogin",
		roleARN:     role,
		region:      ststest.DefaultRegion,
		cacheDir:    t.TempDir(),
		stsEndpoint: srv.URL(),
		loadOptions: []func(*config.LoadOptions) error{
			config.WithSharedConfigFiles([]string{}),
			config.WithSharedCredentialsFiles([]string{}),
		},
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// The user approves the code the prompt shows; the first poll waits
	// for that, so no polling interval passes in real time.
	release := srv.Hold(ststest.ActionToken)
	defer release()
	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, &stdout, &stderr) }()
	code, err := srv.WaitUserCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Approve(code, "alice"); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), code) {
		t.Errorf("the prompt did not show the user code %q:\n%s", code, stderr.String())
	}
	// "alice" is a person: her subject is not copied into CloudTrail's
	// session name, which falls back to the host name (already in the
	// session name's character set).
	host, _ := os.Hostname()
	if want := "assumed-role/developer/" + host; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout = %q, want it to contain %q", stdout.String(), want)
	}

	// The second run reuses the stored login and the stored credentials.
	stdout.Reset()
	if err := run(ctx, o, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls(ststest.ActionDeviceAuthorization); n != 1 {
		t.Errorf("device authorizations = %d, want 1", n)
	}
	if n := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
	}
	if n := srv.Calls(ststest.ActionGetCallerIdentity); n != 2 {
		t.Errorf("GetCallerIdentity calls = %d, want 2", n)
	}
}
