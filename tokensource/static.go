package tokensource

import (
	"context"
	"fmt"
	"time"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// Static returns a [Source] that always returns value, with surrounding
// whitespace removed, and its expiry from the JWT "exp" claim (zero when
// value is not a JWT). It suits tests and tokens obtained out of band; a
// token that expires is better read from a [File] or a refreshing source.
//
// An empty value is reported by every Token call as an [*Error] wrapping
// [ErrEmpty], since Static has no error result.
func Static(value string) Source {
	value = trimToken(value)
	tok := newToken(value)
	return &staticSource{value: redact.New(value), expiry: tok.Expiry}
}

// staticSource holds its value in a redact.Secret so that %v of a struct that
// embeds it by value cannot print the token.
type staticSource struct {
	value  redact.Secret
	expiry time.Time
}

// Token returns the static token, or an error when it is empty or ctx is
// done.
func (s *staticSource) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, &Error{Source: "static", Err: err}
	}
	if s.value.IsZero() {
		return Token{}, &Error{Source: "static", Err: fmt.Errorf("%w: Static was given an empty value", ErrEmpty)}
	}
	return Token{Value: s.value.Reveal(), Expiry: s.expiry}, nil
}

func (s *staticSource) describe() string {
	return "tokensource.Static(" + Token{Value: s.value.Reveal(), Expiry: s.expiry}.String() + ")"
}

// String returns a redacted description of the source.
func (s *staticSource) String() string { return s.describe() }
