package tokensource

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// The managed identity endpoints of Azure and the variables that select
// them.
const (
	envIdentityEndpoint = "IDENTITY_ENDPOINT" // App Service, Functions, Container Apps
	envIdentityHeader   = "IDENTITY_HEADER"
	envAzureClientID    = "AZURE_CLIENT_ID" // a user-assigned identity
	azureIMDSURL        = "http://169.254.169.254/metadata/identity/oauth2/token"
	azureIMDSVersion    = "2018-02-01"
	azureAppVersion     = "2019-08-01"
	defaultAzureRes     = "api://AzureADTokenExchange"
)

// Azure returns a [Source] that requests a Microsoft Entra ID token of the
// workload's managed identity for resource ("" means
// "api://AzureADTokenExchange", the resource Entra ID uses for federation).
//
// On App Service, Azure Functions and Container Apps, where the platform
// sets IDENTITY_ENDPOINT and IDENTITY_HEADER, each call sends
//
//	GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=<resource>
//	X-IDENTITY-HEADER: $IDENTITY_HEADER
//
// and elsewhere (a virtual machine, a scale set) it asks the Instance
// Metadata Service:
//
//	GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<resource>
//	Metadata: true
//
// When AZURE_CLIENT_ID is set, as for Azure's own SDKs, the request adds
// client_id=$AZURE_CLIENT_ID to pick that user-assigned identity; without
// it, the system-assigned identity (or the only user-assigned one)
// answers. The answer is JSON with "access_token" and "expires_on" (Unix
// seconds); the token's expiry is the earlier of its JWT "exp" and
// "expires_on". Managed identity tokens live about 24 hours, and the
// endpoints cache them: a call may return the token of the previous one.
//
// For AKS workload identity, whose token is a file, use
// File(os.Getenv("AZURE_FEDERATED_TOKEN_FILE")), which [Detect] picks.
//
// Errors are [*Error] values with Source "azure" and Name the request URL
// without its query; an answer other than 200 OK is a [*StatusError]. No
// error contains IDENTITY_HEADER or a token, even when the server echoes
// them.
//
// Azure is safe for concurrent use.
func Azure(resource string, optFns ...func(*HTTPOptions)) Source {
	if resource == "" {
		resource = defaultAzureRes
	}
	return &azureSource{resource: resource, f: newFetcher("azure", false, optFns)}
}

type azureSource struct {
	resource string
	f        *fetcher
}

// azureAnswer is the JSON answer of both endpoints. expires_on is a string
// of Unix seconds in the documented answers, a number in some versions.
type azureAnswer struct {
	AccessToken string          `json:"access_token"`
	ExpiresOn   json.RawMessage `json:"expires_on"`
}

// Token requests a token from App Service's endpoint or from IMDS.
func (s *azureSource) Token(ctx context.Context) (Token, error) {
	r, err := s.request()
	if err != nil {
		return Token{}, err
	}
	return s.f.fetch(ctx, r, parseAzureAnswer)
}

// parseAzureAnswer reads the token of the JSON answer; its expiry is the
// earlier of the JWT's "exp" and "expires_on".
func parseAzureAnswer(body []byte) (Token, error) {
	var a azureAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Token{}, fmt.Errorf("%w: the answer is not a JSON object with an access_token", ErrMalformed)
	}
	tok := newToken(a.AccessToken)
	if on, ok := unixSeconds(a.ExpiresOn); ok && (tok.Expiry.IsZero() || on.Before(tok.Expiry)) {
		tok.Expiry = on
	}
	return tok, nil
}

// request builds the request for the endpoint the environment selects.
func (s *azureSource) request() (request, error) {
	q := url.Values{"resource": {s.resource}}
	if id := strings.TrimSpace(os.Getenv(envAzureClientID)); id != "" {
		q.Set("client_id", id)
	}
	endpoint, secret := os.Getenv(envIdentityEndpoint), os.Getenv(envIdentityHeader)
	if endpoint == "" || secret == "" {
		q.Set("api-version", azureIMDSVersion)
		u, _ := url.Parse(azureIMDSURL)
		u.RawQuery = q.Encode()
		return request{url: u, header: http.Header{"Metadata": {"true"}}}, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return request{}, &Error{Source: "azure", Name: envIdentityEndpoint, Err: fmt.Errorf("%w: not an http or https URL", ErrMalformed)}
	}
	q.Set("api-version", azureAppVersion)
	u.RawQuery = q.Encode()
	return request{url: u, header: http.Header{"X-Identity-Header": {secret}}, secrets: []string{secret}}, nil
}

// unixSeconds reads expires_on: Unix seconds as a JSON string or number.
func unixSeconds(raw json.RawMessage) (time.Time, bool) {
	v := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > maxExp {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

func (s *azureSource) describe() string {
	return "tokensource.Azure(" + strconv.Quote(s.resource) + ")"
}

// String describes the source by its resource.
func (s *azureSource) String() string { return s.describe() }
