package awsoidc

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
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

// legacyEndpoint is the endpoint of the SDK's global endpoint resolver,
// deprecated in the SDK but still honoured by its clients, and so by ours.
//
//lint:ignore SA1019 the lazy client must honour what the SDK's clients honour.
type legacyEndpoint = aws.Endpoint //nolint:staticcheck // SA1019, see above.

// withLegacyResolver is a LoadDefaultConfig option with a global endpoint
// resolver that answers every service with a URL naming it.
func withLegacyResolver() func(*config.LoadOptions) error {
	resolve := func(service, region string, _ ...any) (legacyEndpoint, error) {
		return legacyEndpoint{URL: "http://resolver.test/" + service + "/" + region}, nil
	}
	//lint:ignore SA1019 the lazy client must honour what the SDK's clients honour.
	return config.WithEndpointResolverWithOptions(aws.EndpointResolverWithOptionsFunc(resolve)) //nolint:staticcheck // SA1019, see above.
}

// recorder is an HTTP client that records the URL of each request and
// answers none of them.
type recorder struct {
	mu   sync.Mutex // guards urls
	urls []string
}

var errRecorded = errors.New("recorded, not sent")

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := *req.URL
	u.RawQuery = ""
	r.urls = append(r.urls, u.String())
	return nil, errRecorded
}

func (r *recorder) last(t *testing.T) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.urls) == 0 {
		t.Fatal("no request was made")
	}
	return r.urls[len(r.urls)-1]
}

// webIdentityInput is a valid AssumeRoleWithWebIdentity input; the
// requests never leave the recorder.
var webIdentityInput = &sts.AssumeRoleWithWebIdentityInput{
	RoleArn:          aws.String("arn:aws:iam::123456789012:role/r"),
	RoleSessionName:  aws.String("s"),
	WebIdentityToken: aws.String("token-value"),
}

// noRetries makes one request per call.
func noRetries(o *sts.Options) { o.Retryer = aws.NopRetryer{} }

// The lazy client sends AssumeRoleWithWebIdentity where the SDK's own
// client, sts.NewFromConfig of config.LoadDefaultConfig with the same
// environment, shared config file and options, sends it: every partition,
// FIPS and dual-stack from the environment, the shared config and code,
// the legacy sts_regional_endpoints (which aws-sdk-go-v2 does not read: its
// STS endpoints are regional), the endpoint URL variables, endpoint_url and
// services sections, and the variable that ignores them.
func TestLazySTSEndpointsMatchTheSDK(t *testing.T) {
	const services = "[profile p]\nregion = eu-west-1\nservices = local\n\n[services local]\nsts =\n  endpoint_url = http://sts.profile.test:4566\n"
	cases := []struct {
		name   string
		env    map[string]string
		config string // the shared config file
		opts   []func(*config.LoadOptions) error
	}{
		{name: "us-east-1", env: map[string]string{"AWS_REGION": "us-east-1"}},
		{name: "eu-west-1", env: map[string]string{"AWS_REGION": "eu-west-1"}},
		{name: "aws-global", env: map[string]string{"AWS_REGION": "aws-global"}},
		{name: "AWS_DEFAULT_REGION", env: map[string]string{"AWS_DEFAULT_REGION": "ap-southeast-2"}},
		{name: "aws-cn", env: map[string]string{"AWS_REGION": "cn-north-1"}},
		{name: "aws-cn dual-stack", env: map[string]string{"AWS_REGION": "cn-northwest-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"}},
		{name: "aws-us-gov", env: map[string]string{"AWS_REGION": "us-gov-west-1"}},
		{name: "aws-us-gov FIPS", env: map[string]string{"AWS_REGION": "us-gov-east-1", "AWS_USE_FIPS_ENDPOINT": "true"}},
		{name: "FIPS env", env: map[string]string{"AWS_REGION": "us-east-2", "AWS_USE_FIPS_ENDPOINT": "true"}},
		{name: "dual-stack env", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"}},
		{name: "FIPS and dual-stack env", env: map[string]string{"AWS_REGION": "us-west-2", "AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"}},
		{name: "FIPS and dual-stack shared config", env: map[string]string{"AWS_PROFILE": "p"},
			config: "[profile p]\nregion = us-west-1\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n"},
		{name: "FIPS option", env: map[string]string{"AWS_REGION": "ca-central-1"},
			opts: []func(*config.LoadOptions) error{config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled)}},
		{name: "legacy regional endpoints env", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_STS_REGIONAL_ENDPOINTS": "legacy"}},
		{name: "legacy regional endpoints shared config", env: map[string]string{"AWS_PROFILE": "p"},
			config: "[profile p]\nregion = us-east-1\nsts_regional_endpoints = legacy\n"},
		{name: "AWS_ENDPOINT_URL_STS", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_STS": "http://sts.env.test:4566"}},
		{name: "AWS_ENDPOINT_URL", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://all.env.test:4566"}},
		{name: "AWS_ENDPOINT_URL_STS beats AWS_ENDPOINT_URL", env: map[string]string{"AWS_REGION": "us-east-1",
			"AWS_ENDPOINT_URL": "http://all.env.test:4566", "AWS_ENDPOINT_URL_STS": "http://sts.env.test:4566"}},
		{name: "endpoint_url", env: map[string]string{"AWS_PROFILE": "p"},
			config: "[profile p]\nregion = eu-west-1\nendpoint_url = http://all.profile.test:4566\n"},
		{name: "services section", env: map[string]string{"AWS_PROFILE": "p"}, config: services},
		{name: "services section and AWS_ENDPOINT_URL", env: map[string]string{"AWS_PROFILE": "p", "AWS_ENDPOINT_URL": "http://all.env.test:4566"}, config: services},
		{name: "services section and AWS_ENDPOINT_URL_STS", env: map[string]string{"AWS_PROFILE": "p", "AWS_ENDPOINT_URL_STS": "http://sts.env.test:4566"}, config: services},
		{name: "ignore configured endpoint URLs env", env: map[string]string{"AWS_PROFILE": "p",
			"AWS_ENDPOINT_URL_STS": "http://sts.env.test:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, config: services},
		{name: "ignore configured endpoint URLs shared config", env: map[string]string{"AWS_PROFILE": "p"},
			config: "[profile p]\nregion = eu-west-1\nignore_configured_endpoint_urls = true\nendpoint_url = http://all.profile.test:4566\n"},
		{name: "base endpoint option", env: map[string]string{"AWS_REGION": "us-east-1"},
			opts: []func(*config.LoadOptions) error{config.WithBaseEndpoint("http://code.test:4566")}},
		{name: "base endpoint option and AWS_ENDPOINT_URL_STS", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_STS": "http://sts.env.test:4566"},
			opts: []func(*config.LoadOptions) error{config.WithBaseEndpoint("http://code.test:4566")}},
		{name: "region option and profile option", config: "[profile p]\nregion = eu-central-1\n[profile other]\nregion = sa-east-1\n",
			opts: []func(*config.LoadOptions) error{config.WithSharedConfigProfile("other")}},
		{name: "endpoint resolver option", env: map[string]string{"AWS_REGION": "us-east-1"},
			opts: []func(*config.LoadOptions) error{withLegacyResolver()}},
		{name: "retry and app ID options", env: map[string]string{"AWS_REGION": "eu-north-1"},
			opts: []func(*config.LoadOptions) error{config.WithRetryMaxAttempts(1), config.WithAppID("app")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if tc.config != "" {
				file := filepath.Join(t.TempDir(), "config")
				if err := os.WriteFile(file, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONFIG_FILE", file)
			}
			sdkRec, ourRec := &recorder{}, &recorder{}
			ctx := context.Background()

			sdkOpts := append([]func(*config.LoadOptions) error{config.WithHTTPClient(sdkRec)}, tc.opts...)
			cfg, err := config.LoadDefaultConfig(ctx, sdkOpts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(ctx, webIdentityInput, noRetries)
			if !errors.Is(err, errRecorded) {
				t.Fatalf("SDK client: %v", err)
			}

			var lo config.LoadOptions
			for _, fn := range append([]func(*config.LoadOptions) error{config.WithHTTPClient(ourRec)}, tc.opts...) {
				if err := fn(&lo); err != nil {
					t.Fatal(err)
				}
			}
			_, err = newLazySTS(&lo, "", Options{}).AssumeRoleWithWebIdentity(ctx, webIdentityInput, noRetries)
			if !errors.Is(err, errRecorded) {
				t.Fatalf("lazy client: %v", err)
			}
			if sdk, ours := sdkRec.last(t), ourRec.last(t); sdk != ours {
				t.Errorf("lazy client sent to %s, the SDK's to %s", ours, sdk)
			} else {
				t.Logf("%s", ours)
			}
		})
	}
}

// Without any region, the lazy client uses the usual STS region of the
// role's partition, where the SDK's client would fail for want of one.
func TestLazySTSPartitionRegion(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:iam::123456789012:role/r":        "https://sts.us-east-1.amazonaws.com/",
		"arn:aws-cn:iam::123456789012:role/r":     "https://sts.cn-north-1.amazonaws.com.cn/",
		"arn:aws-us-gov:iam::123456789012:role/r": "https://sts.us-gov-west-1.amazonaws.com/",
	} {
		t.Run(arn, func(t *testing.T) {
			isolate(t)
			rec := &recorder{}
			l := newLazySTS(&config.LoadOptions{HTTPClient: rec}, arn, Options{})
			if _, err := l.AssumeRoleWithWebIdentity(context.Background(), webIdentityInput, noRetries); !errors.Is(err, errRecorded) {
				t.Fatal(err)
			}
			if got := rec.last(t); got != want {
				t.Errorf("URL = %s, want %s", got, want)
			}
		})
	}
	// AWS_ROLE_ARN stands for the role of WithIRSA.
	isolate(t)
	t.Setenv("AWS_ROLE_ARN", "arn:aws-cn:iam::123456789012:role/r")
	rec := &recorder{}
	l := newLazySTS(&config.LoadOptions{HTTPClient: rec}, "", Options{})
	if _, err := l.AssumeRoleWithWebIdentity(context.Background(), webIdentityInput, noRetries); !errors.Is(err, errRecorded) {
		t.Fatal(err)
	}
	if got, want := rec.last(t), "https://sts.cn-north-1.amazonaws.com.cn/"; got != want {
		t.Errorf("URL with AWS_ROLE_ARN = %s, want %s", got, want)
	}
}

// A role ARN without an account (Ceph RGW's arn:aws:iam:::role/<name>) is
// accepted by WithWebIdentity when the STS endpoint configured in the
// shared config, the environment or code is outside AWS, and AWS's STS
// (here ststest, which takes any ARN shape) issues credentials for it; with
// AWS's endpoints, LoadDefaultConfig fails before any call and says why.
func TestAccountlessRoleARN(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	const roleARN = "arn:aws:iam:::role/x"
	srv.AddRole(ststest.Role{ARN: roleARN})
	src := tokensource.Static(srv.MintToken(ststest.Claims{}))
	cases := []struct {
		name   string
		env    map[string]string
		config string
		opts   []func(*config.LoadOptions) error
	}{
		{name: "endpoint_url in the shared config", env: map[string]string{"AWS_PROFILE": "ceph"},
			config: "[profile ceph]\nregion = default\nendpoint_url = " + srv.URL() + "\n"},
		{name: "services section", env: map[string]string{"AWS_PROFILE": "ceph"},
			config: "[profile ceph]\nregion = us-east-1\nservices = rgw\n[services rgw]\nsts =\n  endpoint_url = " + srv.URL() + "\n"},
		{name: "AWS_ENDPOINT_URL_STS", env: map[string]string{"AWS_ENDPOINT_URL_STS": srv.URL()}},
		{name: "base endpoint option", opts: []func(*config.LoadOptions) error{config.WithBaseEndpoint(srv.URL())}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if tc.config != "" {
				file := filepath.Join(t.TempDir(), "config")
				if err := os.WriteFile(file, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONFIG_FILE", file)
			}
			before := len(srv.Sessions())
			opts := append(tc.opts, WithWebIdentity(roleARN, src))
			cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
				t.Fatal(err)
			}
			sessions := srv.Sessions()
			if len(sessions) != before+1 || sessions[len(sessions)-1].RoleARN != roleARN {
				t.Errorf("sessions = %+v, want one more for %s", sessions, roleARN)
			}
		})
	}
	for name, env := range map[string]map[string]string{
		"default endpoint":    {"AWS_REGION": "us-east-1"},
		"AWS endpoint in env": {"AWS_ENDPOINT_URL_STS": "https://sts.eu-west-1.amazonaws.com"},
		"dual-stack AWS":      {"AWS_REGION": "us-east-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
	} {
		t.Run("refused/"+name, func(t *testing.T) {
			isolate(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			before := len(srv.Sessions())
			_, err := config.LoadDefaultConfig(context.Background(), WithWebIdentity(roleARN, src))
			var ve *provider.ValidationError
			if !errors.As(err, &ve) || ve.Field != "roleARN" || !strings.Contains(ve.Rule, "endpoint outside AWS") {
				t.Fatalf("LoadDefaultConfig() = %v, want a roleARN ValidationError naming the endpoint rule", err)
			}
			if len(srv.Sessions()) != before {
				t.Error("STS was called")
			}
		})
	}
}
