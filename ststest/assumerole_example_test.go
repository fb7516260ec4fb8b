package ststest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/awsoidc/awsoidc/ststest"
)

// A role chain: a role in another account trusts the web identity role and
// requires an external ID; AssumeRole is signed with the web identity
// session's credentials, and GetCallerIdentity reports the last hop.
func ExampleRole_trustedPrincipals() {
	srv := ststest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	pod := srv.AddRole(ststest.Role{Name: "pod"})
	target := srv.AddRole(ststest.Role{
		ARN:               "arn:aws:iam::444455556666:role/deploy",
		TrustedPrincipals: []string{pod},
		ExternalID:        "partner-7",
	})

	wi, err := srv.STSClient().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(pod),
		RoleSessionName:  aws.String("pod"),
		WebIdentityToken: aws.String(srv.MintToken(ststest.Claims{})),
	})
	if err != nil {
		panic(err)
	}
	podCreds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := wi.Credentials
		return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}, nil
	})
	signed := sts.NewFromConfig(srv.Config(podCreds))

	_, err = signed.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("deploy"), ExternalId: aws.String("partner-7"), DurationSeconds: aws.Int32(7200)})
	var api smithy.APIError
	if errors.As(err, &api) {
		fmt.Println(api.ErrorCode()+":", api.ErrorMessage())
	}

	out, err := signed.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("deploy"), ExternalId: aws.String("partner-7")})
	if err != nil {
		panic(err)
	}
	c := out.Credentials
	id, err := sts.NewFromConfig(srv.Config(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}, nil
	}))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		panic(err)
	}
	fmt.Println(*id.Arn)
	// Output:
	// ValidationError: The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.
	// arn:aws:sts::444455556666:assumed-role/deploy/deploy
}
