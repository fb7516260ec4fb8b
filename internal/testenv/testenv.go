// Package testenv keeps the project's tests and examples hermetic: what a
// developer has in their environment (AWS_PROFILE, AWS_REGION, an endpoint
// override, access keys) must not change what `go test ./...` sees.
package testenv

import (
	"os"
	"path/filepath"
	"strings"
)

// Isolate removes every AWS_* variable from the process environment, points
// the shared configuration and credentials files at a path that does not
// exist, and disables EC2 instance metadata, so that config.LoadDefaultConfig
// in a test or an Example sees only what the test sets. Call it from TestMain
// before m.Run; tests that need a variable set it with t.Setenv.
func Isolate() {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			_ = os.Unsetenv(name)
		}
	}
	missing := filepath.Join(os.TempDir(), "awsoidc-testenv", "no-such-file")
	_ = os.Setenv("AWS_CONFIG_FILE", missing)
	_ = os.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
	_ = os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
