package deviceflow

import (
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/testhook"
)

// The module's tests set the clock of a Source through internal/testhook.
func init() {
	testhook.Register(func(v any, c clock.Clock) bool {
		s, ok := v.(*Source)
		if ok {
			s.clk = c
		}
		return ok
	})
}
