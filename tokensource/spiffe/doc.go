// Package spiffe supplies web identity tokens from the SPIFFE Workload API:
// JWT-SVIDs that the local agent (SPIRE) issues to the workload, traded by
// awsoidc for AWS credentials.
//
//	src := spiffe.JWTSource("sts.amazonaws.com") // the agent at $SPIFFE_ENDPOINT_SOCKET
//	cfg, err := config.LoadDefaultConfig(ctx, awsoidc.WithWebIdentity(roleARN, src))
//
// [JWTSource] fetches a fresh JWT-SVID at every call, so each credential
// refresh presents one that the agent has just issued, and JWT-SVIDs, which
// live minutes, never outlive their use.
//
// It is a module of its own, github.com/awsoidc/awsoidc/tokensource/spiffe,
// so that the core module does not depend on gRPC.
package spiffe
