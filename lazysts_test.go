package awsoidc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// isolate hides the developer's AWS configuration from the test and returns
// a shared config file holding profile "p" with region eu-west-2.
func isolate(t *testing.T) (configFile string) {
	t.Helper()
	dir := t.TempDir()
	configFile = filepath.Join(dir, "config")
	if err := os.WriteFile(configFile, []byte("[profile p]\nregion = eu-west-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ROLE_ARN":                "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	return configFile
}

// A failed build (here: a profile that does not exist) is not kept: once
// the cause is gone, the next call builds the client.
func TestLazySTSRetriesAFailedBuild(t *testing.T) {
	isolate(t)
	lo := &config.LoadOptions{SharedConfigProfile: "missing"}
	l := newLazySTS(lo, "arn:aws-cn:iam::123456789012:role/x", Options{})
	if _, err := l.get(context.Background()); err == nil {
		t.Fatal("get() with a missing profile succeeded")
	}
	lo.SharedConfigProfile = ""
	c, err := l.get(context.Background())
	if err != nil {
		t.Fatalf("get() after the cause was fixed = %v", err)
	}
	if got := c.Options().Region; got != "cn-north-1" {
		t.Errorf("region = %q, want the role partition's cn-north-1", got)
	}
	if again, _ := l.get(context.Background()); again != c {
		t.Error("a second get() built another client")
	}
}

// A caller waiting for another caller's build leaves with its own ctx; the
// build goes on, and callers that wait get its client.
func TestLazySTSWaiterCancellation(t *testing.T) {
	isolate(t)
	l := newLazySTS(&config.LoadOptions{}, "", Options{})
	release := make(chan struct{})
	l.building.Start(context.Background(), func(ctx context.Context) (*sts.Client, error) {
		<-release // another caller's build, slow
		return l.build(ctx)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("get() while another build runs, ctx canceled = %v, want context.Canceled", err)
	}
	close(release)
	c, err := l.get(context.Background())
	if err != nil {
		t.Fatalf("get() = %v", err)
	}
	if again, _ := l.get(context.Background()); again != c {
		t.Error("a second get() built another client")
	}
}

// The options given to LoadDefaultConfig that decide where STS is reached
// reach the STS client too.
func TestLazySTSCarriesOverLoadOptions(t *testing.T) {
	configFile := isolate(t)
	l := newLazySTS(&config.LoadOptions{
		SharedConfigFiles:    []string{configFile},
		SharedConfigProfile:  "p",
		BaseEndpoint:         "http://127.0.0.1:1",
		UseFIPSEndpoint:      aws.FIPSEndpointStateEnabled,
		UseDualStackEndpoint: aws.DualStackEndpointStateEnabled,
	}, "", Options{})
	c, err := l.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if o.Region != "eu-west-2" {
		t.Errorf("region = %q, want the profile's eu-west-2", o.Region)
	}
	if aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:1" {
		t.Errorf("BaseEndpoint = %q", aws.ToString(o.BaseEndpoint))
	}
	if o.EndpointOptions.UseFIPSEndpoint != aws.FIPSEndpointStateEnabled ||
		o.EndpointOptions.UseDualStackEndpoint != aws.DualStackEndpointStateEnabled {
		t.Errorf("endpoint options = %+v, want FIPS and dual-stack", o.EndpointOptions)
	}
	// The client turns aws.AnonymousCredentials into no credentials at all.
	if _, anon := o.Credentials.(aws.AnonymousCredentials); o.Credentials != nil && !anon {
		t.Errorf("credentials = %T, want none", o.Credentials)
	}

	l = newLazySTS(&config.LoadOptions{DefaultRegion: "ap-south-1"}, "", Options{})
	if c, err = l.get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.Options().Region; got != "ap-south-1" {
		t.Errorf("region = %q, want the DefaultRegion ap-south-1", got)
	}
}
