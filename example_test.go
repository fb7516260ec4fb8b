package awsoidc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// In a Kubernetes pod with IAM roles for service accounts, one option gives
// every client of the configuration refreshing credentials.
func ExampleWithIRSA() {
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithIRSA())
	if err != nil {
		log.Fatal(err) // e.g. provider.MissingEnvError naming AWS_ROLE_ARN
	}
	_ = sts.NewFromConfig(cfg) // and every other client of cfg
}

// Any role and token source: here a token file, against ststest in place of
// AWS.
func ExampleWithWebIdentity() {
	srv := ststest.NewServer()
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{Name: "app"})
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	_ = os.WriteFile(tokenFile, []byte(srv.MintToken(ststest.Claims{})), 0o600)

	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		awsoidc.WithWebIdentity(roleARN, tokensource.File(tokenFile),
			func(o *awsoidc.Options) { o.STSClient = srv.STSClient() }),
	)
	if err != nil {
		log.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(creds.Source, creds.CanExpire)
	// Output: AWSOIDCWebIdentity true
}
