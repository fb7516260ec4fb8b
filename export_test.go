package awsoidc

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// DefaultCreds is the provider of [WithDefaultCredentials] without the
// aws.CredentialsCache the option hands LoadDefaultConfig, so that tests can
// print its own description.
func DefaultCreds(lo *config.LoadOptions, optFns ...func(*Options)) (aws.CredentialsProvider, error) {
	return newDefaultCreds(lo, optFns)
}
