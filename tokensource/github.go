package tokensource

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/awsoidc/awsoidc/internal/netutil"
)

// The variables that GitHub Actions sets in a job granted the permission
// "id-token: write".
const (
	envGitHubRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN" //nolint:gosec // G101: a variable name, not a credential
)

// defaultAudience is the audience that STS expects by default, and the
// default of [GitHubActions], [GCP] and [Detect].
const defaultAudience = "sts.amazonaws.com"

// GitHubActions returns a [Source] that requests an OpenID Connect ID token
// from GitHub Actions for audience ("" means "sts.amazonaws.com", what
// aws-actions/configure-aws-credentials asks for and what the role's
// token.actions.githubusercontent.com:aud condition usually names).
//
// Each call reads ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN, which the runner sets in a job with the
// permission "id-token: write", and sends, as GitHub documents ("Requesting
// the JWT using the Actions runtime"),
//
//	GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<audience>
//	Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN
//
// whose answer is {"value": "<JWT>"}. A GitHub ID token lives about
// 5 minutes: every call fetches a new one, so that a retry never sends an
// expired token; put [Reuse] in front to share one between calls.
//
// Errors are [*Error] values with Source "github-actions" and Name the
// request URL without its query; a missing variable wraps [ErrEmpty]
// (the job lacks "id-token: write"), a request URL that is not https (http
// only on a loopback host) wraps [ErrMalformed], an answer other than
// 200 OK is a [*StatusError]. No error contains the request token or the ID token, even
// when the server echoes them.
//
// GitHubActions is safe for concurrent use.
func GitHubActions(audience string, optFns ...func(*HTTPOptions)) Source {
	if audience == "" {
		audience = defaultAudience
	}
	return &githubSource{audience: audience, f: newFetcher("github-actions", true, optFns)}
}

type githubSource struct {
	audience string
	f        *fetcher
}

// githubAnswer is the JSON answer of the token request.
type githubAnswer struct {
	Value string `json:"value"`
}

// Token requests a new ID token.
func (s *githubSource) Token(ctx context.Context) (Token, error) {
	rawURL, token := os.Getenv(envGitHubRequestURL), os.Getenv(envGitHubRequestToken)
	for _, v := range []struct{ name, value string }{{envGitHubRequestURL, rawURL}, {envGitHubRequestToken, token}} {
		if v.value == "" {
			return Token{}, &Error{Source: "github-actions", Name: v.name, Err: fmt.Errorf(
				"%w: the variable is not set; grant the job the permission id-token: write", ErrEmpty)}
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && netutil.IsLoopback(u.Hostname())) {
		return Token{}, &Error{Source: "github-actions", Name: envGitHubRequestURL, Err: fmt.Errorf(
			"%w: not an https URL (http only on a loopback host: the request carries a bearer token)", ErrMalformed)}
	}
	q := u.Query() // keeps the api-version the runner put there
	q.Set("audience", s.audience)
	u.RawQuery = q.Encode()
	r := request{url: u, header: http.Header{
		"Authorization": {"bearer " + token},
		"Accept":        {"application/json"},
	}, secrets: []string{token}}
	return s.f.fetch(ctx, r, parseGitHubAnswer)
}

// parseGitHubAnswer reads the token of the JSON answer.
func parseGitHubAnswer(body []byte) (Token, error) {
	var a githubAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Token{}, fmt.Errorf("%w: the answer is not a JSON object with a value", ErrMalformed)
	}
	return newToken(a.Value), nil
}

func (s *githubSource) describe() string {
	return "tokensource.GitHubActions(" + strconv.Quote(s.audience) + ")"
}

// String describes the source by its audience.
func (s *githubSource) String() string { return s.describe() }
