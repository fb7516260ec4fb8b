package tokensource

import (
	"context"
	"fmt"
	"os"
	"strconv"
)

// Env returns a [Source] that reads the environment variable name on every
// call, so a change made with os.Setenv is seen by the next call. Surrounding
// whitespace is removed, and the expiry comes from the JWT "exp" claim (zero
// when the value is not a JWT).
//
// When the variable is unset or empty, Token returns an [*Error] naming it
// and wrapping [ErrEmpty].
func Env(name string) Source { return envSource{name: name} }

type envSource struct{ name string }

// Token reads the variable.
func (s envSource) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, &Error{Source: "env", Name: s.name, Err: err}
	}
	v, ok := os.LookupEnv(s.name)
	if !ok {
		return Token{}, &Error{Source: "env", Name: s.name, Err: fmt.Errorf("%w: the variable is not set", ErrEmpty)}
	}
	v = trimToken(v)
	if v == "" {
		return Token{}, &Error{Source: "env", Name: s.name, Err: ErrEmpty}
	}
	return newToken(v), nil
}

func (s envSource) describe() string { return "tokensource.Env(" + strconv.Quote(s.name) + ")" }

// String describes the source by its variable name.
func (s envSource) String() string { return s.describe() }
