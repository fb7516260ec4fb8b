package tokensource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestHTTPSourcesEndToEnd runs each HTTP source through the whole flow: a
// fake provider endpoint answers a JWT signed by its own identity provider
// (a second ststest.Server), the source fetches it, provider.New's provider
// sends it to STS (ststest, over HTTP, with the real sts client), STS checks
// signature, issuer, audience and subject against a role that trusts that
// issuer, and the credentials sign a GetCallerIdentity that ststest
// verifies with SigV4. A second Retrieve fetches a second token.
func TestHTTPSourcesEndToEnd(t *testing.T) {
	cases := []struct {
		name, audience, subject string
		// serve answers a request with tok, following the provider's protocol.
		serve func(w http.ResponseWriter, r *http.Request, mint func(aud string) string)
		// source points a source at srv.
		source func(t *testing.T, srv *httptest.Server) tokensource.Source
	}{
		{
			name: "github-actions", audience: "sts.amazonaws.com", subject: "repo:octo-org/app:ref:refs/heads/main",
			serve: func(w http.ResponseWriter, r *http.Request, mint func(string) string) {
				if r.Header.Get("Authorization") != "bearer "+requestSecret {
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
				jsonAnswer(w, map[string]any{"value": mint(r.URL.Query().Get("audience"))})
			},
			source: func(t *testing.T, srv *httptest.Server) tokensource.Source {
				t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", srv.URL+"/idtoken?api-version=2.0")
				t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", requestSecret)
				return tokensource.GitHubActions("", withClient(srv.Client()))
			},
		},
		{
			name: "gcp", audience: "sts.amazonaws.com", subject: "112233445566778899001",
			serve: func(w http.ResponseWriter, r *http.Request, mint func(string) string) {
				if r.Header.Get("Metadata-Flavor") != "Google" || r.URL.Query().Get("format") != "full" {
					http.Error(w, "bad request", http.StatusForbidden)
					return
				}
				w.Header().Set("Metadata-Flavor", "Google")
				_, _ = w.Write([]byte(mint(r.URL.Query().Get("audience"))))
			},
			source: func(t *testing.T, srv *httptest.Server) tokensource.Source {
				return tokensource.GCP("", withClient(linkLocalClient(srv)))
			},
		},
		{
			name: "azure-imds", audience: "api://AzureADTokenExchange", subject: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
			serve: func(w http.ResponseWriter, r *http.Request, mint func(string) string) {
				if r.Header.Get("Metadata") != "true" {
					http.Error(w, `{"error":"bad_request"}`, http.StatusBadRequest)
					return
				}
				azureAnswer(w, mint(r.URL.Query().Get("resource")))
			},
			source: func(t *testing.T, srv *httptest.Server) tokensource.Source {
				return tokensource.Azure("", withClient(linkLocalClient(srv)))
			},
		},
		{
			name: "azure-app-service", audience: "api://AzureADTokenExchange", subject: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1",
			serve: func(w http.ResponseWriter, r *http.Request, mint func(string) string) {
				if r.Header.Get("X-IDENTITY-HEADER") != requestSecret {
					http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
					return
				}
				azureAnswer(w, mint(r.URL.Query().Get("resource")))
			},
			source: func(t *testing.T, srv *httptest.Server) tokensource.Source {
				t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
				t.Setenv("IDENTITY_HEADER", requestSecret)
				return tokensource.Azure("", withClient(srv.Client()))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearSourceEnv(t)
			idp := ststest.NewServer(func(o *ststest.Options) { o.Audience = c.audience })
			t.Cleanup(idp.Close)
			stsSrv := ststest.NewServer()
			t.Cleanup(stsSrv.Close)
			role := stsSrv.AddRole(ststest.Role{Name: "from-" + c.name, Issuer: idp.Issuer(), Audience: c.audience, Subject: c.subject})
			mint := func(aud string) string {
				return idp.MintToken(ststest.Claims{Audience: aud, Subject: c.subject, Expiry: time.Now().Add(5 * time.Minute)})
			}
			fake, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { c.serve(w, r, mint) })

			p, err := provider.New(provider.NewSTSClient(stsSrv.Config(nil)), role, c.source(t, fake))
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 2; i++ {
				creds, err := p.Retrieve(context.Background())
				if err != nil {
					t.Fatalf("Retrieve %d: %v", i, err)
				}
				if !creds.CanExpire || creds.AccessKeyID == "" {
					t.Errorf("credentials = %v", creds)
				}
				if rec.count() != i {
					t.Errorf("after Retrieve %d: %d token requests, want %d (a fresh token each time)", i, rec.count(), i)
				}
			}
			id, err := sts.NewFromConfig(stsSrv.Config(p)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if arn := aws.ToString(id.Arn); !strings.Contains(arn, ":assumed-role/from-"+c.name+"/") {
				t.Errorf("GetCallerIdentity ARN = %q, want a session of role from-%s", arn, c.name)
			}
		})
	}
}
