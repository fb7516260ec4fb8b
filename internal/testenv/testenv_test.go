package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

func TestIsolate(t *testing.T) {
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	Isolate()
	for _, name := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s = %q after Isolate", name, v)
		}
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v", err)
	}
	if cfg.Region != "" {
		t.Errorf("region = %q, want none", cfg.Region)
	}
}
