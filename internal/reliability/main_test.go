package reliability

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a cache
// refresh, a held request, a retry timer or an HTTP connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
