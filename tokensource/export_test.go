package tokensource

import "github.com/awsoidc/awsoidc/internal/jwt"

// Exports for the tests of package tokensource_test.

const DefaultMaxFileSize = defaultMaxFileSize

var (
	ErrNotJWT   = jwt.ErrNotJWT
	ErrNoExpiry = errNoExpiry
)

// WithMaxFileSize lowers the largest file a File source reads, for tests.
func WithMaxFileSize(src Source, n int64) Source {
	src.(*fileSource).maxSize = n
	return src
}
