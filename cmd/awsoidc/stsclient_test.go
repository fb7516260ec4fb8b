package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/pflag"
)

// errSent stops a request at the transport, once its URL is known.
var errSent = errors.New("request not sent")

type hostRecorder struct{ host string }

func (h *hostRecorder) Do(r *http.Request) (*http.Response, error) {
	h.host = r.URL.Host
	return nil, errSent
}

// TestSTSClientEndpoint checks the host the credential commands' STS client
// sends to: FIPS and dual-stack as AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT ask, as the SDKs do, and a custom endpoint as
// given.
func TestSTSClientEndpoint(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"default", nil, nil, "sts.us-east-1.amazonaws.com"},
		{"FIPS", map[string]string{envUseFIPS: "true"}, nil, "sts-fips.us-east-1.amazonaws.com"},
		{"dual-stack", map[string]string{envUseDualStack: "TRUE"}, []string{"--region", "eu-west-1"}, "sts.eu-west-1.api.aws"},
		{"both", map[string]string{envUseFIPS: "true", envUseDualStack: "true"}, []string{"--region", "us-gov-west-1"}, "sts-fips.us-gov-west-1.api.aws"},
		{"false", map[string]string{envUseFIPS: "false", envUseDualStack: ""}, nil, "sts.us-east-1.amazonaws.com"},
		{"custom endpoint wins", map[string]string{envUseFIPS: "true"}, []string{"--endpoint-url", "https://sts.example.com"}, "sts.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := resolveTestFlags(t, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			rec := &hostRecorder{}
			_, err = newSTSClient(cfg, credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
				o.HTTPClient = rec
				o.RetryMaxAttempts = 1
			})
			if !errors.Is(err, errSent) {
				t.Fatalf("got %v, want the recorder's error", err)
			}
			if rec.host != tt.want {
				t.Errorf("host %q, want %q", rec.host, tt.want)
			}
		})
	}
}

func TestSTSClientEndpointVariableRefused(t *testing.T) {
	_, err := resolveTestFlags(t, map[string]string{envUseFIPS: "yes", envUseDualStack: "1"})
	for _, want := range []string{`invalid AWS_USE_FIPS_ENDPOINT "yes": must be true or false`, `invalid AWS_USE_DUALSTACK_ENDPOINT "1": must be true or false`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

// resolveTestFlags resolves the flags of a credential command with args
// after a role and a token file, in the environment env.
func resolveTestFlags(t *testing.T, env map[string]string, args ...string) (*credConfig, error) {
	t.Helper()
	var f credFlags
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.register(fs)
	all := append([]string{"--role-arn", "arn:aws:iam::123456789012:role/ci", "--token-file", "/nonexistent", "--cache-dir", t.TempDir()}, args...)
	if err := fs.Parse(all); err != nil {
		t.Fatal(err)
	}
	return f.resolve(fs, func(k string) string { return env[k] })
}

var _ aws.HTTPClient = (*hostRecorder)(nil)
