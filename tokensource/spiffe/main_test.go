package spiffe_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: every Token
// call closes its gRPC connection.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
