package main

import (
	"os/exec"
	"testing"

	"github.com/awsoidc/awsoidc/ststest"
)

// BenchmarkWarmCredentialProcess measures a warm credential-process call as
// the AWS CLI makes it: a new process that finds its credentials in the
// store and calls no STS. Each iteration is one exec of the binary.
//
//	go test -run '^$' -bench WarmCredentialProcess -benchtime 200x ./cmd/awsoidc/
func BenchmarkWarmCredentialProcess(b *testing.B) {
	f := newFixture(b)
	args := f.args("credential-process")
	run := func() {
		cmd := exec.Command(bin, args...)
		cmd.Env = f.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	run() // cold: fills the store
	for b.Loop() {
		run()
	}
	b.StopTimer()
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		b.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 1: warm calls reached STS", n)
	}
}
