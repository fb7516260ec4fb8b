package awsoidc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
)

// TestScrubbingKeepsContextErrors: a container call that ran out of time
// or was cancelled still answers errors.Is with the context's error once
// the token is scrubbed from its text.
func TestScrubbingKeepsContextErrors(t *testing.T) {
	const token = "s3cr3t-container-token"
	for _, cause := range []error{context.DeadlineExceeded, context.Canceled} {
		s := &scrubbing{static: token, p: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, fmt.Errorf("calling the endpoint with %s: %w", token, cause)
		})}
		_, err := s.Retrieve(context.Background())
		if !errors.Is(err, cause) {
			t.Errorf("Retrieve() = %v; want errors.Is %v", err, cause)
		}
		if err != nil && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), token) {
			t.Errorf("the token leaked: %v", err)
		}
	}
}

// TestLoginErrorsScrubbed: a sign-in service that echoes the refresh token
// (or anything else of the `aws login` cache file) does not put it into
// the login leg's error, which keeps the service's error code.
func TestLoginErrorsScrubbed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "login.json")
	file := `{"accessToken":{"accessKeyId":"ASIAEXAMPLE","secretAccessKey":"s3cr3t-secret-key","sessionToken":"s3cr3t-session-token","accountId":"123456789012","expiresAt":"2026-12-04T14:00:00Z"},` +
		`"tokenType":"aws_sigv4","refreshToken":"s3cr3t-refresh-token","identityToken":"s3cr3t-identity-token","clientId":"arn:aws:signin:::devtools/same-device","dpopKey":"-----BEGIN EC PRIVATE KEY-----\ns3cr3t-dpop-key\n-----END EC PRIVATE KEY-----\n"}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, echoed := range []string{"s3cr3t-refresh-token", "s3cr3t-identity-token", "s3cr3t-session-token", "s3cr3t-secret-key", "-----BEGIN EC PRIVATE KEY-----\ns3cr3t-dpop-key\n-----END EC PRIVATE KEY-----\n"} {
		s := tokenFileScrubbing{path: path, secrets: loginSecrets, p: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, fmt.Errorf("operation error Signin: CreateOAuth2Token, %w", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "refresh token " + echoed + " is revoked"})
		})}
		_, err := s.Retrieve(context.Background())
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("Retrieve() = %v; want the service's AccessDeniedException", err)
		}
		if all := fmt.Sprintf("%v %+v %#v %s", err, err, err, api.ErrorMessage()); strings.Contains(all, "s3cr3t") {
			t.Fatalf("a secret of the login cache file leaked: %s", all)
		}
	}
}
