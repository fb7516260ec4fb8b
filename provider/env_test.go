package provider_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// clearEnv unsets every variable the package reads, for the test's duration.
func clearEnv(t *testing.T) {
	for _, name := range []string{"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
		"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(name, "")
	}
}

func TestFromEnvironmentMissingVariables(t *testing.T) {
	tests := []struct {
		role, file string
		missing    []string
	}{
		{"", "", []string{"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"}},
		{testRole, "", []string{"AWS_WEB_IDENTITY_TOKEN_FILE"}},
		{"", "/token", []string{"AWS_ROLE_ARN"}},
		{"  ", " ", []string{"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"}},
	}
	for _, tt := range tests {
		clearEnv(t)
		t.Setenv("AWS_ROLE_ARN", tt.role)
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tt.file)
		_, err := provider.FromEnvironment(nil)
		var me *provider.MissingEnvError
		if !errors.As(err, &me) || !slices.Equal(me.Names, tt.missing) {
			t.Fatalf("role %q file %q: error %v, want MissingEnvError%v", tt.role, tt.file, err, tt.missing)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "provider: environment variable") || !strings.Contains(msg, strings.Join(tt.missing, ", ")) {
			t.Errorf("Error() = %q", msg)
		}
	}
}

func TestFromEnvironment(t *testing.T) {
	clearEnv(t)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(secretToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ROLE_ARN", testRole)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path)
	t.Setenv("AWS_ROLE_SESSION_NAME", "from-env")
	p, err := provider.FromEnvironment(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := provider.OptionsOf(p)
	if provider.RoleARNOf(p) != testRole || o.RoleSessionName != "from-env" || o.SourceID != path {
		t.Errorf("provider %v, options %+v", p, o)
	}
	want := []aws.CredentialSource{aws.CredentialSourceEnvVarsSTSWebIDToken, aws.CredentialSourceSTSAssumeRoleWebID}
	if got := p.ProviderSources(); !slices.Equal(got, want) {
		t.Errorf("ProviderSources() = %v, want %v", got, want)
	}

	// optFns run after the environment, once each.
	calls := 0
	p, err = provider.FromEnvironment(nil, func(o *provider.Options) {
		calls++
		o.RoleSessionName = "override"
	})
	if err != nil || provider.OptionsOf(p).RoleSessionName != "override" {
		t.Fatalf("override: %v, %v", p, err)
	}
	if calls != 1 {
		t.Errorf("the option function ran %d times, want 1", calls)
	}
}

func TestFromEnvironmentNamesVariablesInValidationErrors(t *testing.T) {
	clearEnv(t)
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123:role/x")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/token")
	t.Setenv("AWS_ROLE_SESSION_NAME", "bad name")
	_, err := provider.FromEnvironment(nil)
	msg := err.Error()
	for _, want := range []string{"invalid roleARN (AWS_ROLE_ARN)", "invalid Options.RoleSessionName (AWS_ROLE_SESSION_NAME)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	var ve *provider.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("not a ValidationError: %v", err)
	}
}

// TestFromEnvironmentDefaultClient: a nil client is an anonymous client
// from the shared configuration and environment, in the role partition's
// region when none is configured.
func TestFromEnvironmentDefaultClient(t *testing.T) {
	tests := []struct{ role, region, want string }{
		{testRole, "", "us-east-1"},
		{"arn:aws-cn:iam::123456789012:role/r", "", "cn-north-1"},
		{"arn:aws-us-gov:iam::123456789012:role/r", "", "us-gov-west-1"},
		{"arn:aws-cn:iam::123456789012:role/r", "cn-northwest-1", "cn-northwest-1"},
	}
	for _, tt := range tests {
		clearEnv(t)
		t.Setenv("AWS_ROLE_ARN", tt.role)
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/token")
		t.Setenv("AWS_REGION", tt.region)
		p, err := provider.FromEnvironment(nil)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := provider.STSClientOf(p).(*sts.Client)
		if !ok {
			t.Fatalf("client %T, want *sts.Client", provider.STSClientOf(p))
		}
		if got := c.Options().Region; got != tt.want {
			t.Errorf("role %s, AWS_REGION %q: region %q, want %q", tt.role, tt.region, got, tt.want)
		}
		if _, anon := c.Options().Credentials.(aws.AnonymousCredentials); c.Options().Credentials != nil && !anon {
			t.Errorf("Credentials = %T, want none (anonymous)", c.Options().Credentials)
		}
	}
}

func TestNewSTSClient(t *testing.T) {
	type env map[string]string
	tests := []struct {
		name         string
		env          env
		cfg          aws.Config
		opt          func(*sts.Options)
		wantEndpoint string
		wantRegion   string
	}{
		{"defaults", nil, aws.Config{}, nil, "", "us-east-1"},
		{"region kept", nil, aws.Config{Region: "eu-west-1"}, nil, "", "eu-west-1"},
		{"STS endpoint", env{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9000"}, aws.Config{}, nil, "http://127.0.0.1:9000", "us-east-1"},
		{"STS endpoint beats global and cfg", env{"AWS_ENDPOINT_URL_STS": "http://sts", "AWS_ENDPOINT_URL": "http://all"}, aws.Config{BaseEndpoint: aws.String("http://cfg")}, nil, "http://sts", "us-east-1"},
		{"global endpoint", env{"AWS_ENDPOINT_URL": "http://all"}, aws.Config{}, nil, "http://all", "us-east-1"},
		{"cfg endpoint beats global", env{"AWS_ENDPOINT_URL": "http://all"}, aws.Config{BaseEndpoint: aws.String("http://cfg")}, nil, "http://cfg", "us-east-1"},
		{"ignored", env{"AWS_ENDPOINT_URL_STS": "http://sts", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, aws.Config{}, nil, "", "us-east-1"},
		{"option wins", env{"AWS_ENDPOINT_URL_STS": "http://sts"}, aws.Config{}, func(o *sts.Options) { o.BaseEndpoint = aws.String("http://code"); o.Region = "ap-south-1" }, "http://code", "ap-south-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tt.cfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				t.Error("the STS client asked the configuration's credentials")
				return aws.Credentials{}, errors.New("no")
			}))
			var opts []func(*sts.Options)
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			o := provider.NewSTSClient(tt.cfg, opts...).Options()
			if got := aws.ToString(o.BaseEndpoint); got != tt.wantEndpoint {
				t.Errorf("BaseEndpoint = %q, want %q", got, tt.wantEndpoint)
			}
			if o.Region != tt.wantRegion {
				t.Errorf("Region = %q, want %q", o.Region, tt.wantRegion)
			}
			// The SDK turns aws.AnonymousCredentials into nil: unsigned.
			if _, anon := o.Credentials.(aws.AnonymousCredentials); o.Credentials != nil && !anon {
				t.Errorf("Credentials = %T, want none (anonymous)", o.Credentials)
			}
		})
	}
}

// TestFromEnvironmentMissingTokenFile: the token file's own retry (for the
// kubelet's symlink swap) waits about a second, and its failure reaches the
// caller as a token-source error naming the path, without any STS request.
func TestFromEnvironmentMissingTokenFile(t *testing.T) {
	clearEnv(t)
	path := filepath.Join(t.TempDir(), "missing-token")
	t.Setenv("AWS_ROLE_ARN", testRole)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path)
	synctest.Test(t, func(t *testing.T) {
		fake := newFake(ok)
		p, err := provider.FromEnvironment(fake.client())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = p.Retrieve(context.Background())
		re := mustRetrieveError(t, err)
		if re.Class != provider.ClassTokenSource || !errors.Is(err, os.ErrNotExist) || re.Attempts != 0 || !strings.Contains(err.Error(), path) {
			t.Fatalf("error %v, class %s", err, re.Class)
		}
		if waited := time.Since(start); waited < 500*time.Millisecond {
			t.Errorf("the file source gave up after %s", waited)
		}
		if n := fake.calls(); n != 0 {
			t.Errorf("%d STS requests, want 0", n)
		}
	})
}
