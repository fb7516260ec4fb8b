package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// plantedRequestToken is the planted ACTIONS_ID_TOKEN_REQUEST_TOKEN.
const plantedRequestToken = "S3CR3T-github-request-token-5b1e9c" //nolint:gosec // G101: a planted fake, searched for in every output

// fetchingSpecimens are the specimens of the sources that fetch a token
// (their options, a real StatusError from a GitHub token endpoint that
// echoes the bearer token and a token in its 503, a command that fails
// printing the token on stderr) and of the role chain's hops (a HopError
// from an STS that echoes the base credentials).
func fetchingSpecimens(t *testing.T, sec *secrets) []specimen {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	sec.add("GitHub request token", plantedRequestToken)
	var sp []specimen
	add := func(v any, covers ...string) { sp = append(sp, specimen{covers: covers, v: v}) }

	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, fmt.Sprintf(`{"message":"denied for %s","value":%q}`, r.Header.Get("Authorization"), plantedToken), http.StatusServiceUnavailable)
	}))
	defer echo.Close()
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", echo.URL+"/idtoken?api-version=2.0")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", plantedRequestToken)
	hopts := tokensource.HTTPOptions{Client: echo.Client(), Timeout: time.Second}
	add(hopts, "tokensource.HTTPOptions")
	gh := tokensource.GitHubActions("", func(o *tokensource.HTTPOptions) { *o = hopts })
	add(gh)
	_, err := gh.Token(ctx)
	var se *tokensource.StatusError
	if !errors.As(err, &se) || se.RetryAfter != 5*time.Second {
		t.Fatalf("GitHubActions against a 503: %v, want a StatusError with its Retry-After", err)
	}
	add(err, "tokensource.Error")
	add(se, "tokensource.StatusError")
	add(*se, "tokensource.StatusError")
	add(tokensource.GCP(""))
	add(tokensource.Azure(""))
	add(tokensource.DetectOptions{ProbeTimeout: time.Second, HTTPOptions: hopts}, "tokensource.DetectOptions")

	add(tokensource.ExecOptions{Timeout: time.Second}, "tokensource.ExecOptions")
	failing := tokensource.Exec([]string{"/bin/sh", "-c", "echo \"refused: $0\" >&2; exit 1", plantedToken})
	add(failing)
	if _, err := failing.Token(ctx); err == nil {
		t.Fatal("Exec of a failing command: no error")
	} else {
		add(err)
	}

	// A hop whose STS quotes the base credentials in its error.
	base := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return plantedCreds, nil })
	hop := provider.Hop{RoleARN: "arn:aws:iam::123456789012:role/next", RoleSessionName: "s2", ExternalID: "ext-77f0"} // Hop, a plain struct, prints every field: no secret planted in it
	add(hop, "provider.Hop")
	client := assumeRoleEcho{}
	add(client, "provider.AssumeRoleClient")
	a, err := provider.NewAssumeRole(client, base, hop)
	if err != nil {
		t.Fatal(err)
	}
	add(a, "provider.AssumeRole")
	_, err = a.Retrieve(ctx)
	var he *provider.HopError
	if !errors.As(err, &he) {
		t.Fatalf("AssumeRole with an echoing STS: %v, want a HopError", err)
	}
	add(err, "provider.HopError")
	add(*he, "provider.HopError")

	add(ststest.RateLimit{Rate: 1, Burst: 1, RetryAfter: true}, "ststest.RateLimit")
	return sp
}

// assumeRoleEcho is an STS whose AssumeRole signs with the base credentials
// (as the real client does, through sts.Options.Credentials) and quotes
// them in its error.
type assumeRoleEcho struct{}

func (assumeRoleEcho) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	var o sts.Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Credentials == nil {
		return nil, errors.New("no credentials to sign with")
	}
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("signature by %s/%s does not match for %s", creds.SecretAccessKey, creds.SessionToken, aws.ToString(in.RoleArn))
}
