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
// and [cache.New] for anything else. [Options].Chain adds AssumeRole hops
// after web identity, each behind its own cache.
//
// The same binary in a pod, in CI and on a laptop, with the sources and
// precedence of config.LoadDefaultConfig itself and every leg refreshed
// ahead:
//
//	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithDefaultCredentials())
//
// All three retry a request once with fresh credentials when a service
// answers that its credentials expired; [RetryExpired] does it for a
// configuration built otherwise.
package awsoidc
