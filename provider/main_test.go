package provider_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a retry
// timer, a held request or an HTTP connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
