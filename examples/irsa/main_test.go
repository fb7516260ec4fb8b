package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/examples/internal/exampletest"
	"github.com/awsoidc/awsoidc/provider"
)

func TestIRSA(t *testing.T) {
	env := exampletest.Setup(t)
	t.Setenv("AWS_ROLE_ARN", env.RoleARN)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", env.TokenFile)
	t.Setenv("AWS_ROLE_SESSION_NAME", "irsa-example")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-once"}, &out); err != nil {
		t.Fatalf("run() = %v", err)
	}
	if want := "identity arn:aws:sts::123456789012:assumed-role/example/irsa-example"; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q lacks %q", out.String(), want)
	}
}

func TestIRSAMissingEnvironment(t *testing.T) {
	exampletest.Setup(t)
	t.Setenv("AWS_ROLE_ARN", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	err := run(context.Background(), []string{"-once"}, &bytes.Buffer{})
	var missing *provider.MissingEnvError
	if !errors.As(err, &missing) || len(missing.Names) != 2 {
		t.Fatalf("run() = %v, want a MissingEnvError naming both variables", err)
	}
}

func TestIRSARejectsNonPositiveInterval(t *testing.T) {
	exampletest.Setup(t)
	if err := run(context.Background(), []string{"-every", "0s"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-every") {
		t.Fatalf("run(-every 0s) = %v, want an error naming -every", err)
	}
}
