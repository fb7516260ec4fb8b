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
	"github.com/awsoidc/awsoidc/ststest"
)

// setup is exampletest.Setup with the IRSA variables set and a role in
// another account that trusts the pod's role with an external ID.
func setup(t *testing.T) (ststest.Role, *ststest.Server) {
	t.Helper()
	env := exampletest.Setup(t)
	t.Setenv("AWS_ROLE_ARN", env.RoleARN)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", env.TokenFile)
	t.Setenv("AWS_ROLE_SESSION_NAME", "pod")
	target := ststest.Role{ARN: "arn:aws:iam::444455556666:role/deploy", TrustedPrincipals: []string{env.RoleARN}, ExternalID: "partner-7"}
	env.Server.AddRole(target)
	return target, env.Server
}

func TestChain(t *testing.T) {
	target, srv := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-once", "-role", target.ARN, "-external-id", "partner-7"}, &out); err != nil {
		t.Fatalf("run() = %v", err)
	}
	if want := "identity arn:aws:sts::444455556666:assumed-role/deploy/chain-example"; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q lacks %q", out.String(), want)
	}
	if n := srv.Calls(ststest.ActionAssumeRole); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1", n)
	}
}

func TestChainWrongExternalID(t *testing.T) {
	target, _ := setup(t)
	err := run(context.Background(), []string{"-once", "-role", target.ARN, "-external-id", "partner-8"}, &bytes.Buffer{})
	var he *provider.HopError
	if !errors.As(err, &he) || he.Code != "AccessDenied" || he.Class != provider.ClassPermanent {
		t.Fatalf("run() = %v, want a permanent AccessDenied HopError", err)
	}
	if strings.Contains(err.Error(), "partner-8") {
		t.Errorf("error %q shows the external ID", err)
	}
}

func TestChainRefusesLongSession(t *testing.T) {
	target, srv := setup(t)
	err := run(context.Background(), []string{"-once", "-role", target.ARN, "-duration", "2h"}, &bytes.Buffer{})
	var ve *provider.ValidationError
	if !errors.As(err, &ve) || ve.Field != "Chain[0].Duration" {
		t.Fatalf("run(-duration 2h) = %v, want a ValidationError for Chain[0].Duration", err)
	}
	if n := srv.Calls(ststest.ActionAssumeRole) + srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("%d calls to STS, want none", n)
	}
}

func TestChainRequiresRole(t *testing.T) {
	exampletest.Setup(t)
	if err := run(context.Background(), []string{"-once"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-role") {
		t.Fatalf("run() = %v, want an error naming -role", err)
	}
}
