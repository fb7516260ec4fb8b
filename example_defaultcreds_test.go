package awsoidc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/ststest"
)

// The same program runs in a pod (IRSA sets AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE), in CI (a profile with
// web_identity_token_file) and on a laptop (an SSO profile, or
// credential_process): WithDefaultCredentials resolves whatever
// config.LoadDefaultConfig would, and refreshes it ahead of expiry. Here a
// CI profile, against ststest in place of AWS.
func ExampleWithDefaultCredentials() {
	srv := ststest.NewServer()
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{Name: "ci"})
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	_ = os.WriteFile(tokenFile, []byte(srv.MintToken(ststest.Claims{})), 0o600)
	configFile := filepath.Join(dir, "config")
	_ = os.WriteFile(configFile, []byte("[profile ci]\nrole_arn = "+roleARN+
		"\nweb_identity_token_file = "+tokenFile+"\nrole_session_name = ci\n"), 0o600)

	cfg, err := config.LoadDefaultConfig(context.Background(),
		awsoidc.WithDefaultCredentials(func(o *awsoidc.Options) { o.STSClient = srv.STSClient() }),
		// Options after ours still count: the sources are resolved on
		// first use.
		config.WithSharedConfigFiles([]string{configFile}),
		config.WithSharedConfigProfile("ci"),
		config.WithRegion("us-east-1"),
	)
	if err != nil {
		log.Fatal(err) // e.g. config.SharedConfigProfileNotExistError
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		log.Fatal(err) // what LoadDefaultConfig does not check, e.g. an unknown credential_source
	}
	fmt.Println(creds.Source, creds.AccountID)
	// Output: AWSOIDCWebIdentity 123456789012
}
