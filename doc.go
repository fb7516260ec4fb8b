// Package awsoidc gives aws-sdk-go-v2 programs AWS credentials from a web
// identity (OpenID Connect) token through STS AssumeRoleWithWebIdentity, and
// keeps them fresh without ever making an SDK call wait on STS.
//
// This package is the one-line wiring for the common cases. In a Kubernetes
// pod with IAM roles for service accounts (IRSA):
//
//	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithIRSA())
//
// With a role and any token source:
//
//	cfg, err := config.LoadDefaultConfig(ctx,
//		awsoidc.WithWebIdentity(roleARN, tokensource.File("/var/run/secrets/token")))
//
// Both wire a [tokensource.Source] into a [provider.Provider] (which calls
// STS, validates inputs and retries) and that into a [cache.Cache] (which
// refreshes ahead of expiry in the background, once, and keeps serving valid
// credentials through outages). The packages can also be used directly; see
// their documentation.
package awsoidc
