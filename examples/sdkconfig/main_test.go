package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/examples/internal/exampletest"
)

func TestSDKConfig(t *testing.T) {
	env := exampletest.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-role-arn", env.RoleARN, "-token-file", env.TokenFile}, &out); err != nil {
		t.Fatalf("run() = %v", err)
	}
	if want := "identity arn:aws:sts::123456789012:assumed-role/example/"; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q lacks %q", out.String(), want)
	}
	if got := env.Server.Calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", got)
	}
	if got := env.Server.Calls("GetCallerIdentity"); got != 1 {
		t.Errorf("GetCallerIdentity calls = %d, want 1", got)
	}
}

func TestSDKConfigRejectsBadInputBeforeSTS(t *testing.T) {
	env := exampletest.Setup(t)
	err := run(context.Background(), []string{"-role-arn", "not-an-arn", "-token-file", env.TokenFile}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "roleARN") {
		t.Fatalf("run() = %v, want an error naming roleARN", err)
	}
	if got := env.Server.Calls("AssumeRoleWithWebIdentity"); got != 0 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 0", got)
	}
}
