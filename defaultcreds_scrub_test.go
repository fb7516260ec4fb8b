package awsoidc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"

	"github.com/awsoidc/awsoidc"
)

// TestDefaultCredentialsContainerErrorKeepsClass: the container leg's
// error, scrubbed of the authorization token the endpoint echoed, still
// answers errors.As as the SDK's does, with the endpoint's error code,
// fault and HTTP status (which the caches' metrics, retryers and callers
// classify by), while its text and every form of it are free of the token.
func TestDefaultCredentialsContainerErrorKeepsClass(t *testing.T) {
	f := newFixture(t)
	const token = "Bearer s3cr3t-container-token"
	f.container(f.issue("from-container", "container"), "another token")
	f.t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
	sdk := resolve()
	var sdkAPI smithy.APIError
	var sdkStatus interface{ HTTPStatusCode() int }
	if !errors.As(sdk.err, &sdkAPI) || !errors.As(sdk.err, &sdkStatus) || sdkStatus.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("SDK error = %v; want an API error with HTTP status 403", sdk.err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials())
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	var api smithy.APIError
	var status interface{ HTTPStatusCode() int }
	if !errors.As(err, &api) || !errors.As(err, &status) {
		t.Fatalf("Retrieve() = %v; want an API error with an HTTP status, as the SDK's", err)
	}
	if api.ErrorCode() != sdkAPI.ErrorCode() || api.ErrorFault() != sdkAPI.ErrorFault() || status.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("code %q, fault %v, status %d; the SDK's: %q, %v, 403", api.ErrorCode(), api.ErrorFault(), status.HTTPStatusCode(), sdkAPI.ErrorCode(), sdkAPI.ErrorFault())
	}
	if !strings.Contains(api.ErrorMessage(), "unknown token") {
		t.Fatalf("message %q lost the endpoint's answer", api.ErrorMessage())
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err),
		api.ErrorMessage(), fmt.Sprintf("%#v", api)} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("the token leaked: %s", s)
		}
	}
}

// TestDefaultCredentialsSSOTokenScrubbed: an SSO portal that echoes the
// bearer access token in its error does not put the token into our error;
// the SDK's error carries it.
func TestDefaultCredentialsSSOTokenScrubbed(t *testing.T) {
	for name, profile := range map[string]string{
		"legacy":      "[profile dev]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Developer\n",
		"sso-session": "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Developer\n\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			const accessToken = "sso-s3cr3t-access-token" //nolint:gosec // G101: a fake token the fake portal echoes
			key := "https://example.awsapps.com/start"
			if name == "sso-session" {
				key = "corp"
			}
			f.ssoPortal(f.issue("from-sso", "sso"), "123456789012", "Developer", accessToken, key)
			echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Amzn-Errortype", "UnauthorizedException")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, `{"message":"Session token %s not found or invalid"}`, r.Header.Get("X-Amz-Sso_bearer_token")) //nolint:gosec // G705: the fake portal echoes the token on purpose: the test checks that it is scrubbed
			}))
			t.Cleanup(echo.Close)
			t.Setenv("AWS_ENDPOINT_URL_SSO", echo.URL)
			f.write("config", profile)
			t.Setenv("AWS_PROFILE", "dev")
			if sdk := resolve(); sdk.err == nil || !strings.Contains(sdk.err.Error(), accessToken) {
				t.Fatalf("SDK error = %v; want the echoed token in it (the portal must echo it)", sdk.err)
			}
			ours := resolve(awsoidc.WithDefaultCredentials())
			if ours.err == nil {
				t.Fatal("resolved with a refused SSO token")
			}
			var api smithy.APIError
			if !errors.As(ours.err, &api) || api.ErrorCode() != "UnauthorizedException" {
				t.Fatalf("error %v; want the portal's UnauthorizedException", ours.err)
			}
			for _, s := range []string{ours.err.Error(), fmt.Sprintf("%+v", ours.err), fmt.Sprintf("%#v", ours.err), api.ErrorMessage()} {
				if strings.Contains(s, "s3cr3t") {
					t.Fatalf("the SSO access token leaked: %s", s)
				}
			}
		})
	}
}

// TestDefaultCredentialsContainerURLPasswordHidden: a password in the
// user info of AWS_CONTAINER_CREDENTIALS_FULL_URI appears neither in the
// description of the resolved chain nor in the error of a URL that does
// not parse.
func TestDefaultCredentialsContainerURLPasswordHidden(t *testing.T) {
	f := newFixture(t)
	f.container(f.issue("from-container", "container"), "container-token")
	uri := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", strings.Replace(uri, "http://", "http://agent:s3cr3t-password@", 1))
	var lo config.LoadOptions
	ours, err := awsoidc.DefaultCreds(&lo)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = ours.Retrieve(context.Background())
	desc := fmt.Sprintf("%v %+v %#v", ours, ours, ours)
	if !strings.Contains(desc, "container endpoint") || strings.Contains(desc, "s3cr3t") {
		t.Fatalf("description %s; want the container leg, without the password", desc)
	}
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://agent:s3cr3t-password@127.0.0.1:80%zz/creds")
	lo = config.LoadOptions{}
	if err := awsoidc.WithDefaultCredentials()(&lo); err != nil {
		t.Fatal(err)
	}
	_, err = lo.Credentials.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AWS_CONTAINER_CREDENTIALS_FULL_URI") || strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), "s3cr3t") {
		t.Fatalf("Retrieve() = %v; want an error naming the variable, without the password", err)
	}
}
