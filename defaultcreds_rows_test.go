package awsoidc_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
)

// reviewRows are rows of TestDefaultCredentialsResolveLikeSDK for the
// corners of the SDK's resolution: which missing profile counts, profile
// loops and self-reference.
func reviewRows() []resolutionRow {
	return []resolutionRow{
		{
			// The SDK fails on a missing profile only when AWS_PROFILE or
			// code names it; AWS_DEFAULT_PROFILE's is an empty profile.
			name: "AWS_DEFAULT_PROFILE names a profile that does not exist, environment keys",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.setEnvKeys(f.issue("from-env", "env"))
				f.t.Setenv("AWS_DEFAULT_PROFILE", "nope")
				return nil
			},
			kind: "static", caller: assumed("from-env", "env"),
		},
		{
			name: "AWS_DEFAULT_PROFILE names a profile that does not exist, instance metadata",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.imds(f.issue("from-imds", "imds"))
				f.t.Setenv("AWS_DEFAULT_PROFILE", "nope")
				return nil
			},
			kind: "imds", caller: assumed("from-imds", "imds"),
		},
		{
			name: "a profile that is its own source_profile uses its own keys, then assumes its role",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				creds := f.issue("self-keys", "keys")
				f.write("credentials", fmt.Sprintf("[self]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n",
					creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken))
				f.write("config", fmt.Sprintf("[profile self]\nrole_arn = %s\nsource_profile = self\nrole_session_name = self\n", f.trusting("self-role", "", "self-keys")))
				f.t.Setenv("AWS_PROFILE", "self")
				return nil
			},
			kind: "assume role", caller: assumed("self-role", "self"),
		},
	}
}

// TestDefaultCredentialsProfileLoop: a source_profile loop fails
// LoadDefaultConfig with the SDK's error, with and without
// WithDefaultCredentials, before any call.
func TestDefaultCredentialsProfileLoop(t *testing.T) {
	f := newFixture(t)
	f.write("config", fmt.Sprintf("[profile a]\nrole_arn = %s\nsource_profile = b\n\n[profile b]\nrole_arn = %s\nsource_profile = a\n", f.role("a"), f.role("b")))
	t.Setenv("AWS_PROFILE", "a")
	_, sdkErr := config.LoadDefaultConfig(context.Background())
	_, ours := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials())
	if sdkErr == nil || ours == nil || ours.Error() != sdkErr.Error() {
		t.Fatalf("errors: SDK %v, ours %v; want the same", sdkErr, ours)
	}
	if n := f.srv.Calls("AssumeRole"); n != 0 {
		t.Fatalf("AssumeRole calls = %d; want none", n)
	}
}

// TestDefaultCredentialsContainerOffHost: an http container endpoint on a
// host that is neither loopback nor the ECS or EKS agent is refused by
// the first Retrieve, naming the variable and the host, as the SDK refuses
// it: the authorization token is never sent off the host.
func TestDefaultCredentialsContainerOffHost(t *testing.T) {
	for _, uri := range []string{"http://192.0.2.10/creds", "http://[2001:db8::1]/creds", "http://169.254.169.254/latest"} {
		t.Run(uri, func(t *testing.T) {
			newFixture(t)
			t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
			t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "s3cr3t-container-token")
			if sdk := resolve(); sdk.err == nil || !strings.Contains(sdk.err.Error(), "only loopback/ecs/eks hosts are allowed") {
				t.Fatalf("SDK error = %v; want the host refused", sdk.err)
			}
			cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials())
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.Credentials.Retrieve(context.Background())
			if err == nil || !strings.Contains(err.Error(), "AWS_CONTAINER_CREDENTIALS_FULL_URI") || !strings.Contains(err.Error(), "must be a loopback address") {
				t.Fatalf("Retrieve() = %v; want the host refused, naming AWS_CONTAINER_CREDENTIALS_FULL_URI", err)
			}
		})
	}
}

// TestDefaultCredentialsContainerByName: a plain-http container endpoint
// named by a host name that resolves to loopback is reached, through the
// dialer that refuses any other address, as the SDK reaches it.
func TestDefaultCredentialsContainerByName(t *testing.T) {
	f := newFixture(t)
	f.container(f.issue("from-container", "container"), "container-token")
	uri := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", strings.Replace(uri, "127.0.0.1", "localhost", 1))
	for _, opts := range [][]func(*config.LoadOptions) error{nil, {awsoidc.WithDefaultCredentials()}} {
		if got := resolve(opts...); got.err != nil || got.kind != "container" || got.caller != assumed("from-container", "container") {
			t.Fatalf("with %d options: resolved to %+v; want the container endpoint's identity", len(opts), got)
		}
	}
}

// TestDefaultCredentialsContainerFeatureTracking: the container leg
// reports its source (CredentialSourceHTTP) for the SDK's User-Agent
// feature tracking, as the SDK's own resolution does.
func TestDefaultCredentialsContainerFeatureTracking(t *testing.T) {
	f := newFixture(t)
	f.container(f.issue("from-container", "container"), "container-token")
	for _, opts := range [][]func(*config.LoadOptions) error{nil, {awsoidc.WithDefaultCredentials()}} {
		cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
		ps, ok := cfg.Credentials.(aws.CredentialProviderSource)
		if !ok || !slices.Contains(ps.ProviderSources(), aws.CredentialSourceHTTP) {
			t.Fatalf("with %d options: sources %v; want CredentialSourceHTTP among them", len(opts), ps.ProviderSources())
		}
	}
}

// TestDefaultCredentialsIMDSServesExpired: during an outage of its
// credential backend the instance metadata service keeps serving the
// instance's last credentials past their expiry, and EC2 keeps accepting
// them (static stability). The SDK hands them out; so does ours, extended
// 5 to 15 minutes, where the cache alone would refuse them as expired.
func TestDefaultCredentialsIMDSServesExpired(t *testing.T) {
	f := newFixture(t)
	creds := f.issue("from-imds", "imds")
	creds.Expires = time.Now().Add(-10 * time.Minute)
	f.imds(creds)
	for _, opts := range [][]func(*config.LoadOptions) error{nil, {awsoidc.WithDefaultCredentials()}} {
		if got := resolve(opts...); got.err != nil || got.caller != assumed("from-imds", "imds") {
			t.Fatalf("with %d options: resolved to %+v; want the instance's identity", len(opts), got)
		}
	}
}
