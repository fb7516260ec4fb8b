package awsoidc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
