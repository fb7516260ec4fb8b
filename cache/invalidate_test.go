package cache

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/clock"
)

// InvalidateIfUsed drops the credentials of a Cache, reached directly or
// through the SDK's aws.CredentialsCache, only while they have the access
// key ID it is given.
func TestInvalidateIfUsed(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		name := "Cache"
		if wrapped {
			name = "aws.CredentialsCache"
		}
		t.Run(name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			p := newTestProvider(clk, time.Hour)
			c, _ := newTestCache(t, clk, p)
			var creds aws.CredentialsProvider = c
			if wrapped {
				creds = aws.NewCredentialsCache(c)
			}
			ctx := context.Background()
			first, err := creds.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if InvalidateIfUsed(ctx, creds, "") || InvalidateIfUsed(ctx, creds, "AKID-other") {
				t.Fatal("InvalidateIfUsed dropped credentials it was not given")
			}
			if got, _ := creds.Retrieve(ctx); got.AccessKeyID != first.AccessKeyID || p.calls.Load() != 1 {
				t.Fatalf("after InvalidateIfUsed of other keys: %s, %d provider calls; want the same, 1", got.AccessKeyID, p.calls.Load())
			}
			if !InvalidateIfUsed(ctx, creds, first.AccessKeyID) {
				t.Fatal("InvalidateIfUsed(the key served) = false")
			}
			second, err := creds.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if second.AccessKeyID == first.AccessKeyID || p.calls.Load() != 2 {
				t.Fatalf("after InvalidateIfUsed: %s, %d provider calls; want new credentials, 2", second.AccessKeyID, p.calls.Load())
			}
			// A late caller with the first key keeps the second credentials,
			// and learns that the key was the cache's (a retry gets other
			// credentials); a key the cache never served is not.
			if !InvalidateIfUsed(ctx, creds, first.AccessKeyID) {
				t.Error("a second InvalidateIfUsed of the first key = false, want true: the cache served it")
			}
			if InvalidateIfUsed(ctx, creds, "AKID-other") {
				t.Error("InvalidateIfUsed(a key never served) = true")
			}
			if got, _ := creds.Retrieve(ctx); got.AccessKeyID != second.AccessKeyID || p.calls.Load() != 2 {
				t.Errorf("after a late InvalidateIfUsed: %s, %d provider calls; want %s, 2", got.AccessKeyID, p.calls.Load(), second.AccessKeyID)
			}
		})
	}
}

// An aws.CredentialsCache around another provider is invalidated alone;
// other providers are left alone.
func TestInvalidateIfUsedOtherProviders(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	ctx := context.Background()
	wrapper := aws.NewCredentialsCache(p)
	first, err := wrapper.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !InvalidateIfUsed(ctx, wrapper, first.AccessKeyID) {
		t.Fatal("InvalidateIfUsed(aws.CredentialsCache, its key) = false")
	}
	if got, _ := wrapper.Retrieve(ctx); got.AccessKeyID == first.AccessKeyID {
		t.Error("the aws.CredentialsCache still serves the dropped credentials")
	}
	if InvalidateIfUsed(ctx, p, first.AccessKeyID) || InvalidateIfUsed(ctx, nil, first.AccessKeyID) {
		t.Error("InvalidateIfUsed of a plain provider or nil reported a drop")
	}
}

// A finder is never a usable provider.
func TestFinderRetrieveFails(t *testing.T) {
	if _, err := (&finder{}).Retrieve(context.Background()); err == nil {
		t.Error("finder.Retrieve succeeded")
	}
}

// Credentials a refresh replaced are the cache's: InvalidateIfUsed reports
// them, so a request they signed is retried, and keeps the new ones.
func TestInvalidateIfUsedReplacedByRefresh(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newTestProvider(clk, time.Hour)
	c, _ := newTestCache(t, clk, p)
	ctx := context.Background()
	first, err := c.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	second, err := c.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessKeyID == first.AccessKeyID {
		t.Fatal("the cache did not refresh expired credentials")
	}
	if !InvalidateIfUsed(ctx, c, first.AccessKeyID) {
		t.Error("InvalidateIfUsed(the key a refresh replaced) = false, want true")
	}
	if got, _ := c.Retrieve(ctx); got.AccessKeyID != second.AccessKeyID || p.calls.Load() != 2 {
		t.Errorf("after InvalidateIfUsed of the replaced key: %s, %d provider calls; want %s, 2", got.AccessKeyID, p.calls.Load(), second.AccessKeyID)
	}
}

// Static keys behind an aws.CredentialsCache are not reported as dropped:
// the wrapped provider serves the same again, so a retry gains nothing.
func TestInvalidateIfUsedStaticKeys(t *testing.T) {
	ctx := context.Background()
	wrapper := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDSTATIC", SecretAccessKey: "static-secret"}, nil
	}))
	if _, err := wrapper.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	if InvalidateIfUsed(ctx, wrapper, "AKIDSTATIC") {
		t.Error("InvalidateIfUsed(static keys behind an aws.CredentialsCache) = true, want false")
	}
}
