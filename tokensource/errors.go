package tokensource

import (
	"errors"
	"io/fs"
	"strconv"
)

// Sentinel errors, wrapped in an [*Error] (or, for [ParseExpiry], returned
// with detail) and matched with [errors.Is]. Their text never contains a
// token.
var (
	// ErrEmpty means the source produced an empty token (after trimming
	// surrounding whitespace).
	ErrEmpty = errors.New("token is empty")
	// ErrNotSet means the environment variable read by [Env] is not set.
	ErrNotSet = errors.New("variable is not set")
	// ErrTooLarge means the token file is larger than [FileOptions].MaxSize.
	ErrTooLarge = errors.New("token is too large")
	// ErrMalformed means the token file holds no token: its token contains
	// a control character (a NUL, an inner newline, ...), or the file is
	// UTF-16 text.
	ErrMalformed = errors.New("not a token")
	// ErrNoIDToken means the oauth2.Token given to [FromOAuth2] has no
	// "id_token" extra field.
	ErrNoIDToken = errors.New(`token response has no "id_token"`)

	// ErrNotJWT is returned by [ParseExpiry] when the value is not a JWS
	// compact serialization with a JSON claims set (for example an opaque
	// OAuth 2.0 access token). Callers that only want the expiry when there
	// is one can ignore it.
	ErrNotJWT = errors.New("not a JWT")
	// ErrNoExpiry is returned by [ParseExpiry] when the value is a JWT
	// without a usable "exp" claim (missing, not a number, or out of range).
	ErrNoExpiry = errors.New(`JWT has no usable "exp" claim`)
)

// Error is the error of the sources of this package. It says which source
// failed and names the file or variable it read, never the token. ([Reuse]
// returns its wrapped source's errors unchanged, and ctx.Err() when the
// caller's context ends its wait.)
//
// The cause is in Err and stays reachable with [errors.Is] and [errors.As]:
// for example errors.Is(err, os.ErrNotExist) for a missing token file,
// errors.Is(err, context.DeadlineExceeded) when the caller's context ended
// the wait, or errors.Is(err, [ErrEmpty]).
type Error struct {
	// Source is the kind of source that failed: "static", "file", "env",
	// "oauth2" or "retriever".
	Source string
	// Name is the file path (for "file"), the variable name (for "env"),
	// the missing field (for "oauth2"), or empty.
	Name string
	// Err is the cause.
	Err error
}

// Error returns "tokensource: <source> <quoted name>: <cause>". The name is
// left out when the cause is an [*fs.PathError] for that very path, which
// already names it, so that it appears exactly once.
func (e *Error) Error() string {
	cause := "<nil>"
	if e.Err != nil {
		cause = e.Err.Error()
	}
	var pe *fs.PathError
	if e.Name == "" || (errors.As(e.Err, &pe) && pe.Path == e.Name) {
		return "tokensource: " + e.Source + ": " + cause
	}
	return "tokensource: " + e.Source + " " + strconv.Quote(e.Name) + ": " + cause
}

// Unwrap returns the cause, for [errors.Is] and [errors.As].
func (e *Error) Unwrap() error { return e.Err }
