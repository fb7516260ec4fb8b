package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/awsoidc/awsoidc/provider"
)

// leakySource holds its token in an unexported string field, which %v of
// any struct holding the source would print by reflection.
type leakySource struct{ token string }

func (s leakySource) Token(context.Context) (tokenT, error) { return tokenT{Value: s.token}, nil }

// TestNoSecretInFormatsErrorsOrLogs prints every exported type with every
// common verb, every error and the debug log of successful, retried,
// refreshed and failed retrievals, and searches all of it for the token and
// the credentials' secrets.
func TestNoSecretInFormatsErrorsOrLogs(t *testing.T) {
	secrets := []string{secretToken, "S3CR3T", "SECRET-ACCESS-KEY-VALUE", "SESSION-TOKEN-VALUE"}
	var logs logBuffer
	var out strings.Builder

	echo := func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		// A server that echoes the token in its message must not leak it.
		return fail(generic(400, "InvalidParameterValue", "bad token "+secretToken))(nil)
	}
	fake := newFake(fail(idpErr()), fail(apiError(400, &types.ExpiredTokenException{Message: aws.String("expired")})), ok, echo)
	src := leakySource{token: secretToken}
	p, err := provider.New(fake.client(), testRole, src, noWait, func(o *provider.Options) {
		o.Logger = logs.logger()
		o.SourceID = "/var/run/secrets/token"
		o.Policy = `{"Version":"2012-10-17"}`
	})
	if err != nil {
		t.Fatal(err)
	}
	_, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(context.Background())
	var re *provider.RetrieveError
	if !errors.As(err, &re) || re.Code != "InvalidParameterValue" {
		t.Fatalf("echoing server: %v", err)
	}
	out.WriteString(formats(p))
	out.WriteString(formats(provider.OptionsOf(p)))
	out.WriteString(formats(md))
	out.WriteString(formats(err))
	out.WriteString(formats(re))
	out.WriteString(formats(*re))
	out.WriteString(err.Error())

	var ve *provider.ValidationError
	_, verr := provider.New(fake.client(), "bad", src)
	if !errors.As(verr, &ve) {
		t.Fatal(verr)
	}
	out.WriteString(formats(verr))
	out.WriteString(formats(ve))

	all := out.String() + logs.String()
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("output contains secret %.12q…:\n%s", s, all)
		}
	}
	if !strings.Contains(out.String(), testRole) || !strings.Contains(logs.String(), "attempt=") {
		t.Errorf("output lacks the expected details:\n%s", all)
	}
	if !strings.Contains(err.Error(), "bad token [REDACTED]") || !strings.Contains(logs.String(), "bad token [REDACTED]") {
		t.Errorf("echoed token not redacted in %q or in the log:\n%s", err.Error(), logs.String())
	}
}

func TestProviderFormat(t *testing.T) {
	p, err := provider.New(newFake().client(), testRole, leakySource{token: secretToken}, func(o *provider.Options) {
		o.RoleSessionName = "sess"
		o.SourceID = "src"
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `provider.Provider{RoleARN:"` + testRole + `", RoleSessionName:"sess", SourceID:"src", Duration:0s, MaxAttempts:5}`
	for _, verb := range []string{"%v", "%+v", "%s"} {
		if got := fmt.Sprintf(verb, p); got != want {
			t.Errorf("%s = %s, want %s", verb, got, want)
		}
	}
	if got := fmt.Sprintf("%#v", p); got != "&"+want {
		t.Errorf("%%#v = %s", got)
	}
	if provider.RoleARNOf(p) != testRole {
		t.Errorf("RoleARN() = %q", provider.RoleARNOf(p))
	}
}

func TestRetrieveLogsAttemptsAndClasses(t *testing.T) {
	var logs logBuffer
	fake := newFake(fail(generic(400, "Throttling", "Rate exceeded")), ok)
	p, _ := provider.New(fake.client(), testRole, newTokens(secretToken), noWait, func(o *provider.Options) { o.Logger = logs.logger() })
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := logs.String()
	for _, want := range []string{"attempt=1", "class=transient", "code=Throttling", "Rate exceeded", "backoff=0s", "attempt=2", "assumed role", "token=sha256:"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}

// TestRetrieveErrorJSON: encoding/json (and slog's JSON handler, given a
// struct that holds the error, such as a cache.RefreshEvent) sees the
// scrubbed message, never the cause's fields, where a server echoed the
// token.
func TestRetrieveErrorJSON(t *testing.T) {
	echo := func(*sts.AssumeRoleWithWebIdentityInput) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return fail(generic(400, "InvalidParameterValue", "bad token "+secretToken))(nil)
	}
	p, err := provider.New(newFake(echo).client(), testRole, newTokens(secretToken), noWait)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(context.Background())
	re := mustRetrieveError(t, err)
	holder := struct{ Err error }{err}
	for _, v := range []any{re, *re, holder} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secretToken) || !strings.Contains(string(b), `"Code":"InvalidParameterValue"`) || !strings.Contains(string(b), "bad token [REDACTED]") {
			t.Errorf("JSON of %T = %s", v, b)
		}
	}
}
