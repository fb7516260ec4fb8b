package provider_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// ExampleNewAssumeRole chains a cross-account role after web identity. In a
// program, put each step behind a cache.Cache (awsoidc.Options.Chain does),
// so that each hop is refreshed ahead of expiry.
func ExampleNewAssumeRole() {
	srv := ststest.NewServer()
	defer srv.Close()
	pod := srv.AddRole(ststest.Role{Name: "pod"})
	target := srv.AddRole(ststest.Role{
		ARN:               "arn:aws:iam::444455556666:role/deploy",
		TrustedPrincipals: []string{pod},
		ExternalID:        "partner-7",
	})

	base, err := provider.New(srv.STSClient(), pod, tokensource.Static(srv.MintToken(ststest.Claims{})))
	if err != nil {
		log.Fatal(err)
	}
	hop, err := provider.NewAssumeRole(srv.STSClient(), base, provider.Hop{
		RoleARN:         target,
		RoleSessionName: "deploy",
		ExternalID:      "partner-7",
	})
	if err != nil {
		log.Fatal(err) // a ValidationError naming the hop and the field
	}
	id, err := sts.NewFromConfig(srv.Config(hop)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err) // a *provider.HopError
	}
	fmt.Println(*id.Arn)
	// Output: arn:aws:sts::444455556666:assumed-role/deploy/deploy
}
