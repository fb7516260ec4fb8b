package provider_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// ExampleNew assumes a role with a token from a source. An in-process
// ststest server stands in for STS and the identity provider; against AWS,
// build the client with provider.NewSTSClient(cfg) from
// config.LoadDefaultConfig.
func ExampleNew() {
	srv := ststest.NewServer()
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{Name: "example-role"})
	token := srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:prod:billing"})

	p, err := provider.New(srv.STSClient(), roleARN, tokensource.Static(token), func(o *provider.Options) {
		o.Duration = time.Hour
		o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
	})
	if err != nil {
		log.Fatal(err) // a *provider.ValidationError naming the field
	}
	creds, err := p.Retrieve(context.Background())
	if err != nil {
		var idp *types.IDPRejectedClaimException
		if errors.As(err, &idp) {
			log.Fatalf("the role's trust policy refused the token: %v", err)
		}
		log.Fatal(err) // a *provider.RetrieveError; provider.IsRetryable(err) says whether to try again
	}
	md, _ := p.LastMetadata() // what STS said besides the credentials
	fmt.Println("account:", creds.AccountID)
	fmt.Println("assumed:", md.AssumedRoleARN)
	fmt.Println("subject:", md.SubjectFromWebIdentityToken)
	// Output:
	// account: 123456789012
	// assumed: arn:aws:sts::123456789012:assumed-role/example-role/system-serviceaccount-prod-billing
	// subject: system:serviceaccount:prod:billing
}

// ExampleFromEnvironment builds a provider from the IRSA environment
// variables, as a pod on EKS has them. Here the example sets them itself and
// points AWS_ENDPOINT_URL_STS at an in-process ststest server.
func ExampleFromEnvironment() {
	srv := ststest.NewServer()
	defer srv.Close()
	dir, err := os.MkdirTemp("", "irsa")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(srv.MintToken(ststest.Claims{})), 0o600); err != nil {
		log.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ROLE_ARN":                srv.AddRole(ststest.Role{Name: "pod-role"}),
		"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_ROLE_SESSION_NAME":       "my-pod",
		"AWS_ENDPOINT_URL_STS":        srv.URL(),
	} {
		if err := os.Setenv(k, v); err != nil {
			log.Fatal(err)
		}
		defer func() { _ = os.Unsetenv(k) }()
	}

	// In a pod, this is all there is: a nil client is an anonymous STS
	// client from the shared configuration and environment.
	ctx := context.Background()
	p, err := provider.FromEnvironment(nil)
	if err != nil {
		log.Fatal(err) // a *provider.MissingEnvError lists every unset variable
	}
	if _, err := p.Retrieve(ctx); err != nil {
		log.Fatal(err)
	}
	md, _ := p.LastMetadata()
	fmt.Println(md.AssumedRoleARN)
	// Output:
	// arn:aws:sts::123456789012:assumed-role/pod-role/my-pod
}
