// Command awsoidc trades an OpenID Connect token for AWS credentials through
// STS AssumeRoleWithWebIdentity and hands them to any AWS tool: the AWS CLI
// and every SDK through credential_process, shells through env, and
// processes through a loopback container-credentials endpoint (serve). It
// signs people in with the device flow (login, logout).
//
// Install it with:
//
//	go install github.com/awsoidc/awsoidc/cmd/awsoidc@latest
//
// Run "awsoidc --help" for the subcommands and their flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A signal the caller ignores (SIGINT in a script's background job)
	// stays ignored: catching it would also hand exec's child the default
	// action.
	var sigs []os.Signal
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !signal.Ignored(sig) {
			sigs = append(sigs, sig)
		}
	}
	ctx, stop := context.Background(), func() {}
	if len(sigs) > 0 {
		ctx, stop = signal.NotifyContext(ctx, sigs...)
	}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
