package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/tracing"

	"github.com/awsoidc/awsoidc/internal/telemetrytest"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

const (
	mAttempts   = "awsoidc.provider.attempts"
	spanAttempt = "awsoidc.provider.attempt"
)

// TestTelemetryAttempts checks the attempts histogram and the span per STS
// call, children of the span in Retrieve's ctx, across a retried success
// and a permanent failure, and that no token or credential reaches them.
func TestTelemetryAttempts(t *testing.T) {
	rec := &telemetrytest.Recorder{}
	fake := newFake(fail(idpErr()), fail(idpErr()), ok, fail(generic(403, "AccessDenied", "not authorized "+secretToken)))
	var sawParent []bool
	client := provider.STSClientFunc(func(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		s, ok := tracing.GetSpan(ctx)
		sawParent = append(sawParent, ok && s.Name() == spanAttempt)
		return fake.call(ctx, in, optFns...)
	})
	p, err := provider.New(client, testRole, newTokens(secretToken), noWait, func(o *provider.Options) {
		o.MeterProvider, o.TracerProvider = rec, rec
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, parent := rec.Tracer("test").StartSpan(context.Background(), "refresh")
	creds, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(ctx)
	if re := mustRetrieveError(t, err); re.Class != provider.ClassPermanent {
		t.Fatalf("class = %s, want permanent", re.Class)
	}
	parent.End()

	pts := rec.Points(mAttempts)
	if len(pts) != 2 || pts[0].Value != 3 || pts[0].Attrs["awsoidc.outcome"] != "success" || pts[0].Unit != "{attempt}" ||
		pts[1].Value != 1 || pts[1].Attrs["awsoidc.outcome"] != "failure" || pts[1].Attrs["error.type"] != "permanent" {
		t.Errorf("%s = %v, want 3 (success) and 1 (failure, permanent)", mAttempts, pts)
	}
	if _, ok := pts[0].Attrs["error.type"]; ok {
		t.Errorf("a success has an error.type: %v", pts[0])
	}

	spans := rec.Spans(spanAttempt)
	if len(spans) != 4 {
		t.Fatalf("attempt spans = %+v, want 4", spans)
	}
	refresh := rec.Spans("refresh")[0]
	want := []struct {
		status tracing.SpanStatus
		class  any
		code   any
	}{
		{tracing.SpanStatusError, "transient", "IDPCommunicationError"},
		{tracing.SpanStatusError, "transient", "IDPCommunicationError"},
		{tracing.SpanStatusOK, nil, nil},
		{tracing.SpanStatusError, "permanent", "AccessDenied"},
	}
	for i, s := range spans {
		w := want[i]
		attempt := []int{1, 2, 3, 1}[i]
		if s.Parent != refresh.ID || !s.Ended || s.Kind != tracing.SpanKindClient || s.Status != w.status ||
			s.Props["error.type"] != w.class || s.Props["awsoidc.error.code"] != w.code || s.Props["awsoidc.attempt"] != attempt {
			t.Errorf("span %d = %+v, want parent %d, status %v, class %v, code %v, attempt %d", i, s, refresh.ID, w.status, w.class, w.code, attempt)
		}
	}
	for i, ok := range sawParent {
		if !ok {
			t.Errorf("STS call %d: its ctx holds no attempt span", i)
		}
	}

	dump := rec.Dump()
	for _, s := range []string{secretToken, "S3CR3T", creds.SecretAccessKey, creds.SessionToken, "not authorized"} {
		if strings.Contains(dump, s) {
			t.Errorf("telemetry holds %q:\n%s", s, dump)
		}
	}
}

// TestTelemetryTokenRejected checks the class of an attempt whose token
// STS rejected, and the attempts of a Retrieve that never called STS.
func TestTelemetryTokenRejected(t *testing.T) {
	rec := &telemetrytest.Recorder{}
	fake := newFake(fail(generic(400, "ExpiredTokenException", "expired")), ok)
	p, err := provider.New(fake.client(), testRole, newTokens(secretToken, secretToken), noWait, func(o *provider.Options) {
		o.MeterProvider, o.TracerProvider = rec, rec
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := rec.Spans(spanAttempt); len(s) != 2 || s[0].Props["error.type"] != "token-rejected" || s[0].Props["awsoidc.error.code"] != "ExpiredTokenException" {
		t.Errorf("attempt spans = %+v", s)
	}

	broken, err := provider.New(fake.client(), testRole, tokensource.Func(func(context.Context) (tokensource.Token, error) {
		return tokensource.Token{}, errors.New("no token file")
	}), func(o *provider.Options) {
		o.MeterProvider = rec
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = broken.Retrieve(context.Background())
	pts := rec.Points(mAttempts)
	if last := pts[len(pts)-1]; last.Value != 0 || last.Attrs["error.type"] != "token-source" {
		t.Errorf("attempts of a token source failure = %v, want 0, token-source", last)
	}
}
