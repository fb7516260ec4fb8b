package tokensource

// Exports for the tests of package tokensource_test.

const DefaultMaxFileSize = defaultMaxFileSize

var (
	ErrNotJWT   = errNotJWT
	ErrNoExpiry = errNoExpiry
)
