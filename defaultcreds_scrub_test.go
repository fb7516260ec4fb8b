package awsoidc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
