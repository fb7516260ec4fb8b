// Package tokensource supplies the web identity tokens that awsoidc trades
// for AWS credentials: from a file (the Kubernetes projected service account
// token of IRSA), an environment variable, a fixed value, a function, an
// oauth2.TokenSource or the SDK's stscreds.IdentityTokenRetriever.
//
// Every [Source] takes a context and is safe for concurrent use.
//
// A [Token] carries its expiry, read from the JWT "exp" claim without
// verifying the signature ([ParseExpiry]); STS does the verification. [Reuse]
// serves a token from a slow source until shortly before that expiry.
//
// Tokens never appear in errors, logs or formatted values: a Token prints
// redacted, every source prints as a description such as
// tokensource.File("/path"), and errors are [*Error] values that name the
// file or variable, never the content.
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
