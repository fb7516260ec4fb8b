package awsoidc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// A role chain after web identity: the pod's role, then a role in another
// account that requires an external ID. Each step has its own cache,
// refreshed ahead (docs/chains.md). Here ststest stands in for AWS.
func ExampleOptions_chain() {
	srv := ststest.NewServer()
	defer srv.Close()
	pod := srv.AddRole(ststest.Role{Name: "pod"})
	deploy := srv.AddRole(ststest.Role{
		ARN:               "arn:aws:iam::444455556666:role/deploy",
		TrustedPrincipals: []string{pod},
		ExternalID:        "partner-7",
	})
	token := tokensource.Static(srv.MintToken(ststest.Claims{}))

	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		awsoidc.WithWebIdentity(pod, token, func(o *awsoidc.Options) {
			o.STSClient = srv.STSClient()
			o.Chain = []provider.Hop{{RoleARN: deploy, RoleSessionName: "deploy", ExternalID: "partner-7"}}
		}),
	)
	if err != nil {
		log.Fatal(err) // e.g. a provider.ValidationError for Chain[0].Duration
	}
	id, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL()) }).
		GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err) // e.g. a *provider.HopError
	}
	fmt.Println(*id.Arn)
	// Output: arn:aws:sts::444455556666:assumed-role/deploy/deploy
}
