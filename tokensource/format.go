package tokensource

import (
	"fmt"
	"strings"
)

// describer is implemented by the sources of this package: describe returns
// a short description that names the source and never its token, for
// String.
type describer interface{ describe() string }

// describeSource describes a wrapped source without trusting its own
// formatting: a caller's Source may hold a token in a field.
func describeSource(src Source) string {
	if d, ok := src.(describer); ok {
		return d.describe()
	}
	return fmt.Sprintf("%T", src)
}

// trimToken removes the whitespace that surrounds a token in files and
// variables (a trailing newline above all). A JWT or OAuth 2.0 token never
// contains whitespace.
func trimToken(s string) string { return strings.TrimSpace(s) }
