package awsoidc_test

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
)

// TestDefaultCredentialsEnvironmentAsLoaded: the sources are those of the
// environment while LoadDefaultConfig ran, as the SDK's are: a program
// that clears the credential variables after loading (so that its child
// processes do not inherit them) keeps the identity it loaded, with the
// SDK and with WithDefaultCredentials.
func TestDefaultCredentialsEnvironmentAsLoaded(t *testing.T) {
	for name, setup := range map[string]func(*fixture) (string, []string){
		"environment keys": func(f *fixture) (string, []string) {
			f.setEnvKeys(f.issue("from-env", "env"))
			f.imds(f.issue("from-imds", "imds"))
			return assumed("from-env", "env"), []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
		},
		"environment web identity": func(f *fixture) (string, []string) {
			f.envWebIdentity()
			f.imds(f.issue("from-imds", "imds"))
			return assumed("ci", "ci"), []string{"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			want, vars := setup(f)
			for _, opts := range [][]func(*config.LoadOptions) error{nil, {awsoidc.WithDefaultCredentials()}} {
				cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
				if err != nil {
					t.Fatal(err)
				}
				saved := map[string]string{}
				for _, v := range vars {
					saved[v] = os.Getenv(v)
					t.Setenv(v, "")
					if err := os.Unsetenv(v); err != nil {
						t.Fatal(err)
					}
				}
				out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
				if err != nil {
					t.Fatalf("with %d options: GetCallerIdentity: %v", len(opts), err)
				}
				if got := aws.ToString(out.Arn); got != want {
					t.Fatalf("with %d options: identity %s; want %s", len(opts), got, want)
				}
				for v, val := range saved {
					t.Setenv(v, val)
				}
			}
		})
	}
}
