// Package tokensource supplies the web identity tokens that awsoidc trades
// for AWS credentials: from a file (the Kubernetes projected service account
// token of IRSA), an environment variable, a fixed value, a function, an
// oauth2.TokenSource or the SDK's stscreds.IdentityTokenRetriever.
//
// Every [Source] takes a context and is safe for concurrent use.
package tokensource

import "context"

// Source supplies web identity tokens. Implementations must be safe for
// concurrent use and must honour ctx. Errors must never contain a token.
type Source interface {
	// Token returns a token that is valid now.
	Token(ctx context.Context) (Token, error)
}

// Func adapts a function to a [Source], like aws.CredentialsProviderFunc.
type Func func(ctx context.Context) (Token, error)

// Token calls f(ctx).
func (f Func) Token(ctx context.Context) (Token, error) { return f(ctx) }
