package tokensource

import (
	"errors"
	"io/fs"
	"strconv"
)

// Causes of an [*Error], matched with [errors.Is]. Their text never contains
// a token.
var (
	// ErrEmpty means the source has no token: an empty file, value or
	// variable (after trimming surrounding whitespace), an unset variable,
	// or a token response without the token asked for.
	ErrEmpty = errors.New("token is empty")
	// ErrMalformed means a source got something that is not a token: a
	// token file larger than 64 KiB or in UTF-16, a token containing a
	// control character (a NUL, an inner newline, ...) or whitespace, or
	// an HTTP or command answer that does not parse or is too large.
	ErrMalformed = errors.New("not a token")
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
	// "oauth2", "retriever", "github-actions", "gcp", "azure", "detect",
	// "exec", or "spiffe" (the nested module's source).
	Source string
	// Name is the file path (for "file"), the variable name (for "env"),
	// the missing field (for "oauth2"), the URL without its query (for the
	// HTTP sources), the program (for "exec"), or empty.
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
