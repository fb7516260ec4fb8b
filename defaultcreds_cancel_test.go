package awsoidc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/ststest"
)

// TestDefaultCredentialsFirstCallerCancelled: the first caller leaves
// (its ctx cancelled) while its first call, resolution and STS, is under
// way; it gets its ctx's error at once, and the call goes on for the next
// caller, who gets the credentials of that same STS call, not a poisoned
// chain nor a second call. Ours is called directly, without the SDK's
// aws.CredentialsCache, which would strip the cancellation.
func TestDefaultCredentialsFirstCallerCancelled(t *testing.T) {
	f := newFixture(t)
	f.envWebIdentity()
	var lo config.LoadOptions
	if err := awsoidc.WithDefaultCredentials()(&lo); err != nil {
		t.Fatal(err)
	}
	release := f.srv.Hold(ststest.ActionAssumeRoleWithWebIdentity)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := lo.Credentials.Retrieve(ctx)
		first <- err
	}()
	if err := f.srv.WaitCalls(context.Background(), ststest.ActionAssumeRoleWithWebIdentity, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: Retrieve() = %v; want context.Canceled", err)
	}
	second := make(chan error, 1)
	go func() {
		creds, err := lo.Credentials.Retrieve(context.Background())
		if err == nil && creds.AccessKeyID == "" {
			err = errors.New("no access key")
		}
		second <- err
	}()
	release()
	if err := <-second; err != nil {
		t.Fatalf("second caller: Retrieve() = %v", err)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d; want 1", n)
	}
}
