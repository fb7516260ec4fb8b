package tokensource

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
)

// FromRetriever adapts the SDK's [stscreds.IdentityTokenRetriever] (for
// example [stscreds.IdentityTokenFile]) to a [Source]. Surrounding whitespace
// is removed and the expiry comes from the JWT "exp" claim.
//
// GetIdentityToken takes no context, so a retriever that blocks cannot be
// interrupted: Token checks ctx before the call only. Errors are [*Error]
// values with Source "retriever" that wrap the retriever's error.
func FromRetriever(r stscreds.IdentityTokenRetriever) Source { return retrieverSource{r: r} }

type retrieverSource struct {
	r stscreds.IdentityTokenRetriever
}

// Token calls GetIdentityToken.
func (s retrieverSource) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, &Error{Source: "retriever", Err: err}
	}
	b, err := s.r.GetIdentityToken()
	if err != nil {
		return Token{}, &Error{Source: "retriever", Err: err}
	}
	v := trimToken(string(b))
	if v == "" {
		return Token{}, &Error{Source: "retriever", Err: ErrEmpty}
	}
	return newToken(v), nil
}

// describe names the retriever's type only: its value may hold a token.
func (s retrieverSource) describe() string {
	return fmt.Sprintf("tokensource.FromRetriever(%T)", s.r)
}

// String describes the source by the retriever's type.
func (s retrieverSource) String() string { return s.describe() }

// AsRetriever adapts a [Source] to the SDK's [stscreds.IdentityTokenRetriever],
// for code that builds a [stscreds.WebIdentityRoleProvider] itself.
//
// The returned retriever keeps ctx and passes it to every src.Token call.
// Keeping a context in a value is what this project otherwise avoids (see
// golang/oauth2#388 and coreos/go-oidc#214): it is forced here because
// GetIdentityToken has no context parameter, and the SDK cannot add one
// without breaking its interface. So pass a long-lived context, such as the
// one that bounds the program or background work, not a request's: once ctx
// is done, every GetIdentityToken call fails. Prefer the project's provider,
// which passes each Retrieve's own context to the source.
func AsRetriever(ctx context.Context, src Source) stscreds.IdentityTokenRetriever {
	return &retriever{ctx: ctx, src: src}
}

type retriever struct {
	ctx context.Context // see AsRetriever: the SDK interface takes none
	src Source
}

// GetIdentityToken returns the token of the source as bytes.
func (r *retriever) GetIdentityToken() ([]byte, error) {
	tok, err := r.src.Token(r.ctx)
	if err != nil {
		return nil, err
	}
	return []byte(tok.Value), nil
}

func (r *retriever) describe() string {
	return "tokensource.AsRetriever(" + describeSource(r.src) + ")"
}

// String describes the retriever by the source it wraps.
func (r *retriever) String() string { return r.describe() }
