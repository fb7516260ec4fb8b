package tokensource

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// The metadata server of Google Cloud. Like cloud.google.com/go's metadata
// client, requests go to its IP address, so no DNS lookup is needed, unless
// GCE_METADATA_HOST names another host[:port] (an emulator, a proxy).
const (
	envGCEMetadataHost = "GCE_METADATA_HOST"
	gceMetadataIP      = "169.254.169.254"
	gcpIdentityPath    = "/computeMetadata/v1/instance/service-accounts/default/identity"
)

// GCP returns a [Source] that requests a Google-signed OpenID Connect ID
// token for the instance's default service account from the metadata server
// of Google Cloud (Compute Engine, GKE with Workload Identity Federation,
// Cloud Run, Cloud Functions, App Engine), for audience ("" means
// "sts.amazonaws.com"). Each call sends
//
//	GET http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/identity?audience=<audience>&format=full
//	Metadata-Flavor: Google
//
// (GCE_METADATA_HOST defaults to 169.254.169.254, the address of
// metadata.google.internal) and the answer is the JWT itself. The token has
// "iss" https://accounts.google.com, "aud" the audience, "azp" and "sub"
// the service account's unique ID, and lives 1 hour. In the role's trust
// policy, accounts.google.com:oaud is the audience and accounts.google.com:aud
// the service account's unique ID (STS maps "azp" to :aud when a Google token
// has one).
//
// Every call fetches a new token; put [Reuse] in front to share one between
// calls. Errors are [*Error] values with Source "gcp" and Name the request URL
// without its query; an answer other than 200 OK is a [*StatusError].
//
// GCP is safe for concurrent use.
func GCP(audience string, optFns ...func(*HTTPOptions)) Source {
	if audience == "" {
		audience = defaultAudience
	}
	return &gcpSource{audience: audience, f: newFetcher("gcp", false, optFns)}
}

type gcpSource struct {
	audience string
	f        *fetcher
}

// gcpMetadataHost is the host[:port] of the metadata server.
func gcpMetadataHost() string {
	if h := strings.TrimSpace(os.Getenv(envGCEMetadataHost)); h != "" {
		return h
	}
	return gceMetadataIP
}

// Token requests a new ID token.
func (s *gcpSource) Token(ctx context.Context) (Token, error) {
	q := url.Values{"audience": {s.audience}, "format": {"full"}}
	r := request{
		url:    &url.URL{Scheme: "http", Host: gcpMetadataHost(), Path: gcpIdentityPath, RawQuery: q.Encode()},
		header: http.Header{"Metadata-Flavor": {"Google"}},
	}
	return s.f.fetch(ctx, r, func(body []byte) (Token, error) {
		return newToken(strings.TrimSpace(string(body))), nil // the answer is the JWT itself
	})
}

func (s *gcpSource) describe() string { return "tokensource.GCP(" + strconv.Quote(s.audience) + ")" }

// String describes the source by its audience.
func (s *gcpSource) String() string { return s.describe() }
