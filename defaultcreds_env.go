package awsoidc

import (
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
)

// envSnapshot is the environment as config.LoadDefaultConfig read it: taken
// while LoadDefaultConfig runs the options, as the SDK reads it while it
// loads, so that a program that clears variables after loading (keys it
// does not want its child processes to inherit, say) resolves to what the
// SDK resolves to. The configuration the legs' clients are built from
// (region, endpoints) is still read at the first Retrieve.
type envSnapshot struct {
	config.EnvConfig
	profileSet         bool   // AWS_PROFILE is set: its profile must exist
	containerTokenFile string // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
	loginCacheDir      string // AWS_LOGIN_CACHE_DIRECTORY
}

// readEnv takes the snapshot.
func readEnv() (envSnapshot, error) {
	env, err := config.NewEnvConfig()
	if err != nil {
		return envSnapshot{}, fmt.Errorf("awsoidc: reading the environment: %w", err)
	}
	return envSnapshot{
		EnvConfig:          env,
		profileSet:         os.Getenv("AWS_PROFILE") != "",
		containerTokenFile: os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
		loginCacheDir:      os.Getenv("AWS_LOGIN_CACHE_DIRECTORY"),
	}, nil
}

// webIdentityUnchanged reports whether the web identity variables are
// still those of the snapshot, so that [provider.FromEnvironment] reads
// the same.
func (e envSnapshot) webIdentityUnchanged() bool {
	return os.Getenv("AWS_ROLE_ARN") == e.RoleARN &&
		os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") == e.WebIdentityTokenFilePath &&
		os.Getenv("AWS_ROLE_SESSION_NAME") == e.RoleSessionName
}
