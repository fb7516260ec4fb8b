package ststest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a held request, a server or an HTTP connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
