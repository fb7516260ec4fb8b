package provider_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// externalIDPlanted is an external ID used as the passphrase STS allows.
const externalIDPlanted = "partner-passphrase-Zq81"

// TestHopFormatHidesExternalID: no fmt verb prints a Hop's external ID,
// alone, by pointer or inside another struct (a Chain), and every other
// field stays visible.
func TestHopFormatHidesExternalID(t *testing.T) {
	hop := provider.Hop{RoleARN: "arn:aws:iam::111122223333:role/next", RoleSessionName: "s2", ExternalID: externalIDPlanted, Duration: 30 * time.Minute}
	nested := struct{ Chain []provider.Hop }{[]provider.Hop{hop}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		for _, v := range []any{hop, &hop, nested, &nested} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, externalIDPlanted) {
				t.Errorf("%s of %T shows the external ID: %s", verb, v, out)
			}
			if !strings.Contains(out, "role/next") || !strings.Contains(out, "s2") {
				t.Errorf("%s of %T lost the other fields: %s", verb, v, out)
			}
		}
	}
	if out := fmt.Sprintf("%+v", hop); !strings.Contains(out, "ExternalID:[REDACTED]") || !strings.Contains(out, "Duration:30m0s") {
		t.Errorf("%%+v = %s, want ExternalID:[REDACTED] and the duration", out)
	}
	if out := fmt.Sprintf("%#v", hop); !strings.HasPrefix(out, "provider.Hop{") {
		t.Errorf("%%#v = %s, want provider.Hop{...}", out)
	}
	if out := fmt.Sprintf("%+v", provider.Hop{RoleARN: "r"}); strings.Contains(out, "REDACTED") {
		t.Errorf("%%+v of a hop without external ID = %s, want it empty, not redacted", out)
	}
}

// TestHopErrorScrubsEchoedExternalID: an STS-compatible server that quotes
// the ExternalId in its AccessDenied answer, over HTTP to the real STS
// client, never gets it printed by the HopError.
func TestHopErrorScrubsEchoedExternalID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>external id %s does not match</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, r.Form.Get("ExternalId")) //nolint:gosec // G705: the fake STS echoes the external ID on purpose: the test checks that it is scrubbed
	}))
	defer srv.Close()
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client()})
	base := credentialsOf(aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret-key-example-0123", SessionToken: "session-token-example-0123"})
	a, err := provider.NewAssumeRole(client, base, provider.Hop{RoleARN: "arn:aws:iam::111122223333:role/next", ExternalID: externalIDPlanted})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Retrieve(t.Context())
	var he *provider.HopError
	if !errors.As(err, &he) || he.Code != "AccessDenied" {
		t.Fatalf("Retrieve() = %v, want a HopError AccessDenied", err)
	}
	js, _ := json.Marshal(err)
	for _, out := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%#v", *he), string(js)} {
		if strings.Contains(out, externalIDPlanted) {
			t.Errorf("output shows the external ID: %s", out)
		}
	}
	if !strings.Contains(err.Error(), "does not match") {
		t.Errorf("error %q lost the server's message", err)
	}
}
