package tokensource_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/awsoidc/awsoidc/tokensource"
)

// TestGitHubActionsProtocol: the request GitHub documents in "Requesting the
// JWT using the Actions runtime": GET on the request URL with its own query
// kept and audience added, the bearer request token, JSON accepted; the
// answer's "value" with its JWT expiry.
func TestGitHubActionsProtocol(t *testing.T) {
	tok := jwtExp(farFuture)
	for _, c := range []struct{ audience, want string }{
		{"", "sts.amazonaws.com"},
		{"https://github.com/octo-org", "https://github.com/octo-org"},
	} {
		t.Run(c.want, func(t *testing.T) {
			srv, rec := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				jsonAnswer(w, map[string]any{"count": 1, "value": tok})
			})
			clearSourceEnv(t)
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", srv.URL+"/00000000/_apis/distributedtask/hubs/Actions/plans/p1/jobs/j1/idtoken?api-version=2.0")
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", requestSecret)
			src := tokensource.GitHubActions(c.audience, withClient(srv.Client()))
			got, err := src.Token(context.Background())
			if err != nil || got.Value != tok || !got.Expiry.Equal(farFuture) {
				t.Fatalf("Token = %v, %v", got, err)
			}
			r := rec.last(t)
			q := r.URL.Query()
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/jobs/j1/idtoken") ||
				q.Get("api-version") != "2.0" || q.Get("audience") != c.want || len(q) != 2 {
				t.Errorf("request = %s %s, want GET .../idtoken?api-version=2.0&audience=%s", r.Method, r.URL, c.want)
			}
			if got := r.Header.Get("Authorization"); got != "bearer "+requestSecret {
				t.Errorf("Authorization = %q, want the bearer request token", got)
			}
			if got := r.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q", got)
			}
			if s := src.(interface{ String() string }).String(); s != `tokensource.GitHubActions("`+c.want+`")` {
				t.Errorf("String = %s", s)
			}
		})
	}
}

// TestGitHubActionsVariables: a missing variable, read at each call, is an
// ErrEmpty naming it and the permission to grant; a URL that is not https
// (or http on a loopback host) is ErrMalformed; no request is sent either
// way.
func TestGitHubActionsVariables(t *testing.T) {
	srv, rec := fakeServer(t, func(http.ResponseWriter, *http.Request) {})
	cases := []struct {
		url, token, name string
		want             error
	}{
		{"", requestSecret, "ACTIONS_ID_TOKEN_REQUEST_URL", tokensource.ErrEmpty},
		{srv.URL, "", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", tokensource.ErrEmpty},
		{"file:///etc/passwd", requestSecret, "ACTIONS_ID_TOKEN_REQUEST_URL", tokensource.ErrMalformed},
		{"http://runner.example/idtoken", requestSecret, "ACTIONS_ID_TOKEN_REQUEST_URL", tokensource.ErrMalformed},
		{"://" + requestSecret, requestSecret, "ACTIONS_ID_TOKEN_REQUEST_URL", tokensource.ErrMalformed},
	}
	for _, c := range cases {
		clearSourceEnv(t)
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", c.url)
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", c.token)
		_, err := tokensource.GitHubActions("", withClient(srv.Client())).Token(context.Background())
		var te *tokensource.Error
		if !errors.As(err, &te) || te.Source != "github-actions" || te.Name != c.name || !errors.Is(err, c.want) {
			t.Errorf("url %q token %q: err = %v, want %v naming %s", c.url, c.token, err, c.want, c.name)
		}
		if c.want == tokensource.ErrEmpty && !strings.Contains(err.Error(), "id-token: write") {
			t.Errorf("err = %v, want the permission named", err)
		}
		assertNoLeak(t, err, requestSecret)
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent, want none", rec.count())
	}
}
