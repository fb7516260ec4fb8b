package tokensource_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

// TestAzureProtocol: IMDS (GET
// http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=...
// with Metadata: true) unless IDENTITY_ENDPOINT and IDENTITY_HEADER are set,
// then App Service's (GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=...
// with X-IDENTITY-HEADER); client_id from AZURE_CLIENT_ID; the expiry the
// earlier of the JWT exp and expires_on, or expires_on alone for an opaque
// token.
func TestAzureProtocol(t *testing.T) {
	soon := time.Date(2099, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, resource, clientID string
		appService               bool
		token                    string
		expiresOn                any
		wantRes, wantVersion     string
		wantExpiry               time.Time
	}{
		{name: "IMDS, default resource", token: jwtExp(farFuture), expiresOn: "4102444800",
			wantRes: "api://AzureADTokenExchange", wantVersion: "2018-02-01", wantExpiry: farFuture},
		{name: "IMDS, user-assigned identity, expires_on earlier", resource: "api://my-app", clientID: "1b2c3d4e-0000-4000-8000-000000000001",
			token: jwtExp(farFuture), expiresOn: soon.Unix(), wantRes: "api://my-app", wantVersion: "2018-02-01", wantExpiry: soon},
		{name: "App Service", appService: true, token: "opaque-access-token", expiresOn: fmt.Sprint(soon.Unix()),
			wantRes: "api://AzureADTokenExchange", wantVersion: "2019-08-01", wantExpiry: soon},
		{name: "App Service, user-assigned, no expires_on", appService: true, clientID: "1b2c3d4e-0000-4000-8000-000000000002",
			token: jwtExp(farFuture), wantRes: "api://AzureADTokenExchange", wantVersion: "2019-08-01", wantExpiry: farFuture},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if c.appService && r.Header.Get("X-IDENTITY-HEADER") != requestSecret || !c.appService && r.Header.Get("Metadata") != "true" {
					http.Error(w, `{"error":"invalid_request","error_description":"Required metadata header not specified"}`, http.StatusBadRequest)
					return
				}
				a := map[string]any{"access_token": c.token, "resource": c.wantRes, "token_type": "Bearer"}
				if c.expiresOn != nil {
					a["expires_on"] = c.expiresOn
				}
				jsonAnswer(w, a)
			})
			clearSourceEnv(t)
			t.Setenv("AZURE_CLIENT_ID", c.clientID)
			client := linkLocalClient(srv)
			wantHost, wantPath := "169.254.169.254", "/metadata/identity/oauth2/token"
			if c.appService {
				t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
				t.Setenv("IDENTITY_HEADER", requestSecret)
				client = srv.Client()
				wantHost, wantPath = srv.Listener.Addr().String(), "/msi/token"
			}
			got, err := tokensource.Azure(c.resource, withClient(client)).Token(context.Background())
			if err != nil || got.Value != c.token || !got.Expiry.Equal(c.wantExpiry) {
				t.Fatalf("Token = %v, %v; want expiry %s", got, err, c.wantExpiry)
			}
			r := rec.last(t)
			q := r.URL.Query()
			wantParams := 2
			if c.clientID != "" {
				wantParams++
			}
			if r.Method != http.MethodGet || r.Host != wantHost || r.URL.Path != wantPath || q.Get("resource") != c.wantRes ||
				q.Get("api-version") != c.wantVersion || q.Get("client_id") != c.clientID || len(q) != wantParams {
				t.Errorf("request = %s %s%s", r.Method, r.Host, r.URL)
			}
		})
	}
}
