package tokensource_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/awsoidc/awsoidc/tokensource"
)

// TestGCPProtocol: the metadata server's identity request, GET
// /computeMetadata/v1/instance/service-accounts/default/identity with
// audience and format=full and the header Metadata-Flavor: Google, sent to
// GCE_METADATA_HOST or, unset, to 169.254.169.254; the body is the JWT.
func TestGCPProtocol(t *testing.T) {
	tok := jwtExp(farFuture)
	handler := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		_, _ = w.Write([]byte(tok)) // no trailing newline, as the server answers
	}
	for _, c := range []struct {
		name, audience, wantAud string
		viaEnv                  bool
	}{
		{"GCE_METADATA_HOST, default audience", "", "sts.amazonaws.com", true},
		{"169.254.169.254, own audience", "https://example.com/aws", "https://example.com/aws", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, rec := fakeServer(t, handler)
			clearSourceEnv(t)
			var src tokensource.Source
			wantHost := "169.254.169.254"
			if c.viaEnv {
				wantHost = srv.Listener.Addr().String()
				t.Setenv("GCE_METADATA_HOST", wantHost)
				src = tokensource.GCP(c.audience)
			} else {
				src = tokensource.GCP(c.audience, withClient(linkLocalClient(srv)))
			}
			got, err := src.Token(context.Background())
			if err != nil || got.Value != tok || !got.Expiry.Equal(farFuture) {
				t.Fatalf("Token = %v, %v", got, err)
			}
			r := rec.last(t)
			q := r.URL.Query()
			if r.Method != http.MethodGet || r.Host != wantHost || r.URL.Path != "/computeMetadata/v1/instance/service-accounts/default/identity" ||
				q.Get("audience") != c.wantAud || q.Get("format") != "full" || len(q) != 2 {
				t.Errorf("request = %s %s%s", r.Method, r.Host, r.URL)
			}
		})
	}
}
