package tokensource

import (
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/testhook"
)

// The module's tests set the clock of a File or Reuse source through
// internal/testhook.
func init() {
	testhook.Register(func(v any, c clock.Clock) bool {
		switch s := v.(type) {
		case *fileSource:
			s.clock = c
		case *reuseSource:
			s.setClock(c)
		default:
			return false
		}
		return true
	})
}
