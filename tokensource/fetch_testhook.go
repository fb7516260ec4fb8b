package tokensource

import (
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/testhook"
)

// The module's tests set the clock of a GitHubActions, GCP or Azure source
// (its expiry check and its reading of Retry-After dates) through
// internal/testhook, so that a row of the fault matrix on a fake clock can
// answer an expired token.
func init() {
	testhook.Register(func(v any, c clock.Clock) bool {
		var f *fetcher
		switch s := v.(type) {
		case *githubSource:
			f = s.f
		case *gcpSource:
			f = s.f
		case *azureSource:
			f = s.f
		default:
			return false
		}
		f.clock = c
		return true
	})
}
