package awsoidc_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/internal/telemetrytest"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestTelemetryThroughOptions checks that Options.MeterProvider and
// TracerProvider reach the cache, the provider and the STS client built
// from the configuration being loaded: one refresh span, an attempt span
// per STS call inside it (the first failing with IDPCommunicationError),
// and the SDK's own span of each call inside its attempt; and that no
// token or credential reaches any of them.
func TestTelemetryThroughOptions(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "IDPCommunicationError"})
	rec := &telemetrytest.Recorder{}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		awsoidc.WithWebIdentity(roleARN, tokensource.File(tokenFile), func(o *awsoidc.Options) {
			o.MeterProvider, o.TracerProvider = rec, rec
			o.Provider = append(o.Provider, func(po *provider.Options) { po.Rand = func() float64 { return 0 } })
		}),
		config.WithRegion(ststest.DefaultRegion),
	)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	if got := rec.Sum("awsoidc.cache.refreshes", "awsoidc.outcome", "fetched"); got != 1 {
		t.Errorf("fetched refreshes = %g, want 1", got)
	}
	if pts := rec.Points("awsoidc.provider.attempts"); len(pts) != 1 || pts[0].Value != 2 {
		t.Errorf("provider attempts = %v, want one Retrieve of 2", pts)
	}
	refresh := rec.Spans("awsoidc.cache.refresh")
	attempts := rec.Spans("awsoidc.provider.attempt")
	if len(refresh) != 1 || len(attempts) != 2 {
		t.Fatalf("spans:\n%s", rec.Dump())
	}
	for i, a := range attempts {
		if a.Parent != refresh[0].ID {
			t.Errorf("attempt %d: parent %d, want the refresh span %d", i, a.Parent, refresh[0].ID)
		}
	}
	if attempts[0].Props["awsoidc.error.code"] != "IDPCommunicationError" {
		t.Errorf("first attempt = %+v, want IDPCommunicationError", attempts[0])
	}
	// The SDK's spans of the STS calls nest inside the attempts.
	var sdkSpans int
	for _, s := range rec.Spans("") {
		if strings.HasPrefix(s.Scope, "github.com/aws/aws-sdk-go-v2/service/sts") && s.Parent != 0 {
			p := s
			for p.Parent != 0 && p.Name != "awsoidc.provider.attempt" {
				p = spanByID(rec, p.Parent)
			}
			if p.Name == "awsoidc.provider.attempt" {
				sdkSpans++
			}
		}
	}
	if sdkSpans == 0 {
		t.Errorf("no span of the SDK's STS client inside an attempt span:\n%s", rec.Dump())
	}

	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	dump := rec.Dump()
	for _, s := range []string{string(token), strings.Split(string(token), ".")[1], creds.SecretAccessKey, creds.SessionToken} {
		if strings.Contains(dump, s) {
			t.Errorf("telemetry holds a secret (%.12s...):\n%s", s, dump)
		}
	}
}

func spanByID(rec *telemetrytest.Recorder, id int) telemetrytest.Span {
	for _, s := range rec.Spans("") {
		if s.ID == id {
			return s
		}
	}
	return telemetrytest.Span{}
}
