// Package tokensource supplies the web identity tokens that awsoidc trades
// for AWS credentials: from a file (the projected service account token of
// IRSA, AKS workload identity), an environment variable (GitLab CI,
// CircleCI), GitHub Actions, the Google Cloud or Azure metadata services,
// a command ([Exec]), a fixed value, a function, an oauth2.TokenSource or
// the SDK's stscreds.IdentityTokenRetriever. [Detect] picks the ambient
// one. The sources that fetch do so at every call: put [Reuse] in front to
// reuse a token until shortly before its expiry.
//
//	src := tokensource.File("/var/run/secrets/eks.amazonaws.com/serviceaccount/token")
//	tok, err := src.Token(ctx) // the file is read again on every call
//
// A [Token] prints redacted and carries its expiry, the JWT "exp" claim
// read without verification (STS verifies the token). Errors are [*Error]
// values that name the file or variable, never the token.
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
