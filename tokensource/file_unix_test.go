//go:build unix

package tokensource_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/awsoidc/awsoidc/clock"
)

// TestFileFIFO: a FIFO is refused at once; opening it would block until a
// writer came, beyond the reach of ctx.
func TestFileFIFO(t *testing.T) {
	path := tempPath(t, "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	fake := clock.NewFake(t0)
	_, err := tokenNoWait(t, fileOn(fake, path), fake)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Token() error = %v, want a refusal naming %s", err, path)
	}
}
