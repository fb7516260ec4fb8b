package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: an HTTP
// connection, a credentials refresh or a server. (In its own file: the
// example's tests are in main_test.go.)
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
