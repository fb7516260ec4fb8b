package tokensource

import "github.com/awsoidc/awsoidc/internal/jwt"

// Exports for the tests of package tokensource_test.

const DefaultMaxFileSize = defaultMaxFileSize

var (
	ErrNotJWT   = jwt.ErrNotJWT
	ErrNoExpiry = errNoExpiry
)
