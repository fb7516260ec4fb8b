// Package spiffe supplies web identity tokens from the SPIFFE Workload API:
// JWT-SVIDs fetched from the local agent (SPIRE) at SPIFFE_ENDPOINT_SOCKET,
// traded by awsoidc for AWS credentials.
//
// It is a module of its own, github.com/awsoidc/awsoidc/tokensource/spiffe,
// so that the core module does not depend on gRPC.
package spiffe
