package awsoidc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// A program that builds its own configuration adds the retry on expired
// credentials to every client of it. Here ststest answers ExpiredToken
// once; the call succeeds on its retry, with fresh credentials.
func ExampleRetryExpired() {
	srv := ststest.NewServer()
	defer srv.Close()
	roleARN := srv.AddRole(ststest.Role{Name: "app"})
	p, err := provider.New(srv.STSClient(), roleARN, tokensource.Static(srv.MintToken(ststest.Claims{})),
		func(o *provider.Options) { o.RoleSessionName = "example" })
	if err != nil {
		log.Fatal(err)
	}
	c := cache.New(p)
	defer c.Close()

	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(srv.URL()),
		config.WithCredentialsProvider(c))
	if err != nil {
		log.Fatal(err)
	}
	cfg.APIOptions = append(cfg.APIOptions, awsoidc.RetryExpired(cfg.Credentials))

	srv.Fail(ststest.ActionGetCallerIdentity, ststest.Fault{Code: "ExpiredToken"})
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*out.Arn)
	fmt.Println("STS sessions:", len(srv.Sessions()))
	// Output:
	// arn:aws:sts::123456789012:assumed-role/app/example
	// STS sessions: 2
}
