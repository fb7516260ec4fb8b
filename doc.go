// Package awsoidc gives aws-sdk-go-v2 programs AWS credentials from a web
// identity (OpenID Connect) token through STS AssumeRoleWithWebIdentity, and
// keeps them fresh without ever making an SDK call wait on STS.
//
// In a Kubernetes pod with IAM roles for service accounts (IRSA):
//
//	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithIRSA())
//
// With a role and any token source:
//
//	cfg, err := config.LoadDefaultConfig(ctx,
//		awsoidc.WithWebIdentity(roleARN, tokensource.File("/var/run/secrets/token")))
//
// Both put a [provider.Provider], which calls STS, behind a [cache.Cache],
// which refreshes ahead of expiry; build those parts with [provider.New]
// and [cache.New] for anything else.
package awsoidc
