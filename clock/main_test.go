package clock_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a timer or a waiter on a fake clock.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
