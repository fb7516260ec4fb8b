package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestQuickstart(t *testing.T) {
	// A developer's shell often names a profile that the demo cannot see.
	t.Setenv("AWS_PROFILE", "not-a-quickstart-profile")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run() = %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"GetCallerIdentity (SigV4 verified by ststest): arn:aws:sts::123456789012:assumed-role/quickstart/",
		"AssumeRoleWithWebIdentity=1",
		"OK",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "eyJ") {
		t.Errorf("output contains a JWT:\n%s", text)
	}
}
