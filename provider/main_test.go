package provider_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc/internal/testenv"
)

// TestMain hides the developer's AWS configuration, and fails the run if
// any test leaves a goroutine behind: a retry timer, a held request or an
// HTTP connection.
func TestMain(m *testing.M) {
	testenv.Isolate()
	goleak.VerifyTestMain(m)
}
