package awsoidc_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestStoreKeyedByTokenIdentity is a shared CI runner using the library
// with a persistent store: job A's program stores its credentials; job B,
// another identity whose token the next job writes at the same path, must
// not be served them (issue 8, item 4). A rotated token of job A keeps
// them. Each config.LoadDefaultConfig stands for one process.
func TestStoreKeyedByTokenIdentity(t *testing.T) {
	srv, _, tokenFile := setup(t)
	role := srv.AddRole(ststest.Role{Name: "job-a-only", Subject: "job-a"})
	store, err := cache.NewFileStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(subject, jti string) {
		t.Helper()
		tok := srv.MintToken(ststest.Claims{Subject: subject, Extra: map[string]any{"jti": jti}})
		if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	process := func() (string, error) {
		t.Helper()
		cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
			awsoidc.WithWebIdentity(role, tokensource.File(tokenFile), func(o *awsoidc.Options) {
				o.Cache = append(o.Cache, func(co *cache.Options) { co.Store = store })
			}))
		if err != nil {
			return "", err
		}
		creds, err := cfg.Credentials.Retrieve(context.WithoutCancel(t.Context()))
		return creds.AccessKeyID, err
	}

	write("job-a", "1")
	first, err := process()
	if err != nil {
		t.Fatal(err)
	}
	write("job-a", "2") // rotated in place: the same identity
	if again, err := process(); err != nil || again != first {
		t.Fatalf("rotated token of the same identity: key %q, %v; want the stored %q", again, err, first)
	}
	if n := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls for one identity = %d, want 1", n)
	}
	write("job-b", "3") // the next job, whom the role does not trust
	if got, err := process(); err == nil || got == first {
		t.Fatalf("job B got key %q (err %v): another identity must never be served job A's stored credentials", got, err)
	}
	if n := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 2 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 2: job B must ask STS", n)
	}
}
