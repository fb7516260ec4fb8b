package provider_test

// Integration tests: the real sts client against ststest over HTTP, so the
// AWS Query wire format, the SDK's error deserialization and the retry
// policy are exercised together.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

const assume = ststest.ActionAssumeRoleWithWebIdentity

// keyUnavailableMessage is the message of the InvalidIdentityToken that STS
// answers when it cannot fetch the identity provider's JWKS.
const keyUnavailableMessage = "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements"

// recorder is an HTTP client that keeps the form of every request it sends.
type recorder struct {
	inner *http.Client
	mu    sync.Mutex
	forms []url.Values
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		r.mu.Lock()
		r.forms = append(r.forms, form)
		r.mu.Unlock()
	}
	return r.inner.Do(req) //nolint:gosec // G704: a test client wrapper; the URL is the SDK's, pointed at ststest
}

func (r *recorder) form(i int) url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forms[i]
}

// stack is a ststest server, a role it trusts, a token for it and an STS
// client built by NewSTSClient that records what goes on the wire.
type stack struct {
	srv    *ststest.Server
	role   string
	token  string
	rec    *recorder
	client *sts.Client
}

func newStack(t *testing.T, role ststest.Role, optFns ...func(*ststest.Options)) *stack {
	t.Helper()
	srv := ststest.NewServer(optFns...)
	t.Cleanup(srv.Close)
	s := &stack{srv: srv, role: srv.AddRole(role), rec: &recorder{inner: srv.HTTPClient()}}
	s.token = srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:prod:billing"})
	s.client = provider.NewSTSClient(srv.Config(nil), func(o *sts.Options) { o.HTTPClient = s.rec })
	return s
}

func (s *stack) provider(t *testing.T, src tokensource.Source, optFns ...func(*provider.Options)) *provider.Provider {
	t.Helper()
	if src == nil {
		src = tokensource.Static(s.token)
	}
	p, err := provider.New(s.client, s.role, src, append([]func(*provider.Options){noWait}, optFns...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIntegrationEveryParameterOnTheWire(t *testing.T) {
	s := newStack(t, ststest.Role{Name: "team/deploy", MaxSessionDuration: 3 * time.Hour})
	s.token = s.srv.MintToken(ststest.Claims{
		Subject: "system:serviceaccount:prod:billing",
		Extra:   map[string]any{"https://aws.amazon.com/source_identity": "billing-job"},
	})
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	p := s.provider(t, nil, func(o *provider.Options) {
		o.Duration = 2 * time.Hour
		o.Policy = policy
		o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/Mine"}
		o.MinimumSessionTokenSize = 1024
	})
	creds, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	form := s.rec.form(0)
	want := map[string]string{
		"Action":                     string(assume),
		"Version":                    "2011-06-15",
		"RoleArn":                    s.role,
		"RoleSessionName":            "system-serviceaccount-prod-billing",
		"WebIdentityToken":           s.token,
		"DurationSeconds":            "7200",
		"Policy":                     policy,
		"PolicyArns.member.1.arn":    "arn:aws:iam::aws:policy/ReadOnlyAccess",
		"PolicyArns.member.2.arn":    "arn:aws:iam::123456789012:policy/Mine",
		"MinimumSessionTokenSize":    "1024",
		"ProviderId (must be unset)": "",
	}
	for k, v := range want {
		if got := form.Get(strings.TrimSuffix(k, " (must be unset)")); got != v {
			t.Errorf("wire %s = %q, want %q", k, got, v)
		}
	}
	if md.AssumedRoleARN != "arn:aws:sts::123456789012:assumed-role/deploy/system-serviceaccount-prod-billing" ||
		md.SubjectFromWebIdentityToken != "system:serviceaccount:prod:billing" || md.Audience != "sts.amazonaws.com" ||
		md.SourceIdentity != "billing-job" || md.PackedPolicyPercent <= 0 || md.Provider == "" || md.RequestID == "" ||
		!strings.HasSuffix(md.AssumedRoleID, ":system-serviceaccount-prod-billing") || md.Attempts != 1 {
		t.Errorf("metadata = %+v", md)
	}
	if d := time.Until(creds.Expires); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Errorf("credentials expire in %s, want 2h", d)
	}
	if creds.AccountID != ststest.DefaultAccountID || !creds.CanExpire || creds.Source != provider.ProviderName {
		t.Errorf("credentials = AccountID %q CanExpire %v Source %q", creds.AccountID, creds.CanExpire, creds.Source)
	}

	// The credentials work: GetCallerIdentity, signed with them, answers
	// the assumed role.
	id, err := sts.NewFromConfig(s.srv.Config(p)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != md.AssumedRoleARN {
		t.Errorf("GetCallerIdentity ARN = %q, want %q", aws.ToString(id.Arn), md.AssumedRoleARN)
	}
}

func TestIntegrationProviderIDOnTheWire(t *testing.T) {
	s := newStack(t, ststest.Role{})
	p := s.provider(t, nil, func(o *provider.Options) { o.ProviderID = "www.amazon.com" })
	_, err := p.Retrieve(context.Background())
	if got := s.rec.form(0).Get("ProviderId"); got != "www.amazon.com" {
		t.Fatalf("wire ProviderId = %q", got)
	}
	// ststest, like STS, refuses ProviderId with an OpenID Connect ID token;
	// its code and message come through intact.
	re := mustRetrieveError(t, err)
	var api smithy.APIError
	if re.Class != provider.ClassPermanent || re.Code != "InvalidParameterValue" || !errors.As(err, &api) ||
		!strings.Contains(err.Error(), "ProviderId is only valid for OAuth 2.0 access tokens") || s.srv.Calls(assume) != 1 {
		t.Fatalf("error %v (class %s, %d calls)", err, re.Class, s.srv.Calls(assume))
	}
}

func TestIntegrationMinIOShapedRoleARN(t *testing.T) {
	s := newStack(t, ststest.Role{ARN: "arn:minio:iam:::role/dummy-internal"})
	p := s.provider(t, nil)
	_, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.rec.form(0).Get("RoleArn"); got != "arn:minio:iam:::role/dummy-internal" || md.AssumedRoleARN == "" {
		t.Fatalf("wire RoleArn %q, metadata %+v", got, md)
	}
}

// TestIntegrationErrorCodes injects every error code and fault ststest knows
// and checks what the caller sees and how many requests reached STS.
func TestIntegrationErrorCodes(t *testing.T) {
	tests := []struct {
		name     string
		fault    *ststest.Fault
		setup    func(*stack) (tokensource.Source, func(*provider.Options))
		class    provider.Class
		code     string
		requests int // with MaxAttempts 3
		target   any
		msg      string
	}{
		{name: "IDPCommunicationError", fault: &ststest.Fault{Code: "IDPCommunicationError", Times: -1},
			class: provider.ClassTransient, code: "IDPCommunicationError", requests: 3, target: new(*types.IDPCommunicationErrorException), msg: "Couldn't retrieve verification key"},
		{name: "Throttling", fault: &ststest.Fault{Code: "Throttling", Times: -1},
			class: provider.ClassTransient, code: "Throttling", requests: 3, target: new(smithy.APIError), msg: "Rate exceeded"},
		{name: "InternalFailure 500", fault: &ststest.Fault{Code: "InternalFailure", Times: -1},
			class: provider.ClassTransient, code: "InternalFailure", requests: 3, target: new(smithy.APIError), msg: "unknown error"},
		{name: "ServiceUnavailable 503", fault: &ststest.Fault{Code: "ServiceUnavailable", Times: -1},
			class: provider.ClassTransient, code: "ServiceUnavailable", requests: 3, target: new(smithy.APIError), msg: "retry later"},
		{name: "malformed body", fault: &ststest.Fault{Malformed: true, Times: -1},
			class: provider.ClassTransient, requests: 3, target: new(*smithyhttp.ResponseError)}, // a 2xx answer that did not parse (sts v1.52.0: schema-based deserializers)
		{name: "connection reset", fault: &ststest.Fault{Reset: true, Times: -1},
			class: provider.ClassTransient, requests: 3},
		{name: "IDPCommunicationError (JWKS down)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			s.srv.Fail(ststest.ActionJWKS, ststest.Fault{Times: -1})
			return nil, nil
		}, class: provider.ClassTransient, code: "IDPCommunicationError", requests: 3, target: new(*types.IDPCommunicationErrorException)},
		{name: "MalformedPolicyDocument (no Statement)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			return nil, func(o *provider.Options) { o.Policy = `{"Version":"2012-10-17"}` }
		}, class: provider.ClassPermanent, code: "MalformedPolicyDocument", requests: 1, target: new(*types.MalformedPolicyDocumentException), msg: "Statement"},
		{name: "PackedPolicyTooLarge (incompressible policy)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			return nil, func(o *provider.Options) { o.Policy = incompressiblePolicy(1900) }
		}, class: provider.ClassPermanent, code: "PackedPolicyTooLarge", requests: 1, target: new(*types.PackedPolicyTooLargeException), msg: "% of the packed size limit"},
		{name: "IDPRejectedClaim", fault: &ststest.Fault{Code: "IDPRejectedClaim"},
			class: provider.ClassPermanent, code: "IDPRejectedClaim", requests: 1, target: new(*types.IDPRejectedClaimException), msg: "rejected the claim"},
		{name: "RegionDisabled", fault: &ststest.Fault{Code: "RegionDisabledException"},
			class: provider.ClassPermanent, code: "RegionDisabledException", requests: 1, target: new(*types.RegionDisabledException), msg: "activate STS"},
		{name: "MalformedPolicyDocument", fault: &ststest.Fault{Code: "MalformedPolicyDocument"},
			class: provider.ClassPermanent, code: "MalformedPolicyDocument", requests: 1, target: new(*types.MalformedPolicyDocumentException), msg: "Syntax errors"},
		{name: "PackedPolicyTooLarge", fault: &ststest.Fault{Code: "PackedPolicyTooLarge", Message: "Packed policy consumes 112% of allotted space, please use smaller policy."},
			class: provider.ClassPermanent, code: "PackedPolicyTooLarge", requests: 1, target: new(*types.PackedPolicyTooLargeException), msg: "use 112% of the packed size limit"},
		{name: "InvalidParameterValue (MinIO)", fault: &ststest.Fault{Code: "InvalidParameterValue", Message: "Role arn:minio:iam:::role/x does not exist"},
			class: provider.ClassPermanent, code: "InvalidParameterValue", requests: 1, target: new(smithy.APIError), msg: "Role arn:minio:iam:::role/x does not exist"},
		{name: "AccessDenied", fault: &ststest.Fault{Code: "AccessDenied"},
			class: provider.ClassPermanent, code: "AccessDenied", requests: 1, target: new(smithy.APIError), msg: "trust policy"},
		{name: "AccessDenied by trust (subject condition)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			s.srv.AddRole(ststest.Role{ARN: s.role, Subject: "system:serviceaccount:other:*"})
			return nil, nil
		}, class: provider.ClassPermanent, code: "AccessDenied", requests: 1, target: new(smithy.APIError), msg: "trust policy"},
		{name: "InvalidIdentityToken twice (unregistered audience)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			return tokensource.Static(s.srv.MintToken(ststest.Claims{Audience: "someone-else"})), nil
		}, class: provider.ClassTokenRejected, code: "InvalidIdentityToken", requests: 2, target: new(*types.InvalidIdentityTokenException), msg: "Incorrect token audience"},
		{name: "ValidationError (duration over role max)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			return nil, func(o *provider.Options) { o.Duration = 2 * time.Hour }
		}, class: provider.ClassPermanent, code: "ValidationError", requests: 1, target: new(smithy.APIError), msg: "MaxSessionDuration"},
		{name: "ExpiredToken twice (static source)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			return tokensource.Static(s.srv.MintToken(ststest.Claims{Expiry: time.Now().Add(-time.Hour), IssuedAt: time.Now().Add(-2 * time.Hour)})), nil
		}, class: provider.ClassTokenRejected, code: "ExpiredTokenException", requests: 2, target: new(*types.ExpiredTokenException), msg: "expired token"},
		{name: "InvalidIdentityToken twice (unknown key)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			return tokensource.Static(s.srv.MintToken(ststest.Claims{UnknownKey: true})), nil
		}, class: provider.ClassTokenRejected, code: "InvalidIdentityToken", requests: 2, target: new(*types.InvalidIdentityTokenException), msg: "could not verify the token"},
		{name: "InvalidIdentityToken (verification key unavailable)", fault: &ststest.Fault{Code: "InvalidIdentityToken", Message: keyUnavailableMessage, Times: -1},
			class: provider.ClassTransient, code: "InvalidIdentityToken", requests: 3, target: new(*types.InvalidIdentityTokenException), msg: "an outage rather than a bad token"},
		{name: "InvalidIdentityToken (alg none)", setup: func(s *stack) (tokensource.Source, func(*provider.Options)) {
			return tokensource.Static(s.srv.MintToken(ststest.Claims{Alg: "none"})), nil
		}, class: provider.ClassTokenRejected, code: "InvalidIdentityToken", requests: 2, target: new(*types.InvalidIdentityTokenException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, ststest.Role{})
			if tt.fault != nil {
				s.srv.Fail(assume, *tt.fault)
			}
			var src tokensource.Source
			var opt func(*provider.Options)
			if tt.setup != nil {
				src, opt = tt.setup(s)
			}
			p := s.provider(t, src, func(o *provider.Options) { o.MaxAttempts = 3 }, opt)
			_, err := p.Retrieve(context.Background())
			re := mustRetrieveError(t, err)
			if re.Class != tt.class || re.Code != tt.code {
				t.Errorf("class %s code %q, want %s %q: %v", re.Class, re.Code, tt.class, tt.code, err)
			}
			if got := s.srv.Calls(assume); got != tt.requests || re.Attempts != tt.requests {
				t.Errorf("requests reaching STS = %d (Attempts %d), want %d", got, re.Attempts, tt.requests)
			}
			if tt.target != nil && !errors.As(err, tt.target) {
				t.Errorf("errors.As(%T) = false: %v", tt.target, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Error() = %q, want it to contain %q", err, tt.msg)
			}
			if provider.IsRetryable(err) != (tt.class == provider.ClassTransient) {
				t.Errorf("IsRetryable = %v", provider.IsRetryable(err))
			}
			if strings.Contains(formats(err), s.token) {
				t.Errorf("error shows the token")
			}
		})
	}
}

// TestIntegrationIDPCommunicationErrorThreeTimes is the acceptance test: STS
// fails three times with IDPCommunicationError; the provider's first
// Retrieve succeeds with at most 6 requests reaching STS, while the SDK's
// stscreds provider, relying on the client's retryer (3 attempts), fails.
func TestIntegrationIDPCommunicationErrorThreeTimes(t *testing.T) {
	t.Run("provider", func(t *testing.T) {
		s := newStack(t, ststest.Role{})
		s.srv.Fail(assume, ststest.Fault{Code: "IDPCommunicationError", Times: 3})
		p := s.provider(t, nil)
		_, md, err := retrieveMD(context.Background(), p)
		if err != nil {
			t.Fatalf("first Retrieve: %v", err)
		}
		got := s.srv.Calls(assume)
		t.Logf("requests reaching STS: %d (limit 6)", got)
		if got > 6 || got != 4 || md.Attempts != 4 {
			t.Fatalf("requests = %d, metadata attempts %d; want 4", got, md.Attempts)
		}
	})
	t.Run("provider with a client of RetryMaxAttempts 10", func(t *testing.T) {
		// The client's own retries stay off: attempts never multiply.
		s := newStack(t, ststest.Role{})
		s.srv.Fail(assume, ststest.Fault{Code: "IDPCommunicationError", Times: -1})
		client := provider.NewSTSClient(s.srv.Config(nil), func(o *sts.Options) { o.RetryMaxAttempts = 10 })
		p, err := provider.New(client, s.role, tokensource.Static(s.token), noWait)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Retrieve(context.Background())
		if got := s.srv.Calls(assume); got != provider.DefaultMaxAttempts || !provider.IsRetryable(err) {
			t.Fatalf("requests = %d, want %d; err %v", got, provider.DefaultMaxAttempts, err)
		}
	})
	t.Run("provider, identity provider keys down 3 times", func(t *testing.T) {
		s := newStack(t, ststest.Role{})
		s.srv.Fail(ststest.ActionJWKS, ststest.Fault{Code: "server_error", Times: 3})
		p := s.provider(t, nil)
		if _, err := p.Retrieve(context.Background()); err != nil {
			t.Fatalf("first Retrieve: %v", err)
		}
		if got := s.srv.Calls(assume); got != 4 {
			t.Fatalf("requests = %d, want 4", got)
		}
	})
	t.Run("provider, InvalidIdentityToken verification key unavailable 3 times", func(t *testing.T) {
		s := newStack(t, ststest.Role{})
		s.srv.Fail(assume, ststest.Fault{Code: "InvalidIdentityToken", Message: keyUnavailableMessage, Times: 3})
		src := newTokens(s.token)
		p := s.provider(t, src)
		_, md, err := retrieveMD(context.Background(), p)
		if err != nil {
			t.Fatalf("first Retrieve: %v", err)
		}
		if got := s.srv.Calls(assume); got != 4 || md.Attempts != 4 || md.TokenRefreshed || src.calls() != 1 {
			t.Fatalf("requests = %d, attempts %d, token refreshed %v, token fetches %d; want 4, 4, false, 1",
				got, md.Attempts, md.TokenRefreshed, src.calls())
		}
	})
	t.Run("SDK stscreds", func(t *testing.T) {
		s := newStack(t, ststest.Role{})
		s.srv.Fail(assume, ststest.Fault{Code: "IDPCommunicationError", Times: 3})
		sdk := stscreds.NewWebIdentityRoleProvider(s.srv.STSClient(func(o *sts.Options) {
			o.Retryer = noDelayRetryer(o.Retryer)
		}), s.role, tokensource.AsRetriever(context.Background(), tokensource.Static(s.token)))
		_, err := sdk.Retrieve(context.Background())
		var idp *types.IDPCommunicationErrorException
		if !errors.As(err, &idp) {
			t.Fatalf("stscreds first Retrieve = %v, want IDPCommunicationError", err)
		}
		t.Logf("stscreds: %d requests, then: %v", s.srv.Calls(assume), err)
		if got := s.srv.Calls(assume); got != 3 {
			t.Errorf("stscreds requests = %d, want 3 (the client's retryer)", got)
		}
	})
}

func TestIntegrationExpiredTokenRefreshedOnce(t *testing.T) {
	s := newStack(t, ststest.Role{})
	expired := s.srv.MintToken(ststest.Claims{Expiry: time.Now().Add(-time.Minute), IssuedAt: time.Now().Add(-time.Hour)})
	src := newTokens(expired, s.token)
	p := s.provider(t, src)
	_, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if s.srv.Calls(assume) != 2 || src.calls() != 2 || !md.TokenRefreshed {
		t.Fatalf("requests %d, token fetches %d, metadata %+v", s.srv.Calls(assume), src.calls(), md)
	}
	if s.rec.form(1).Get("WebIdentityToken") != s.token {
		t.Fatal("the retry did not carry the fresh token")
	}
}

// TestIntegrationInvalidInputSendsNothing checks that bad inputs fail with
// zero requests reaching STS, through the real client.
func TestIntegrationInvalidInputSendsNothing(t *testing.T) {
	s := newStack(t, ststest.Role{})
	bad := []struct {
		role string
		opt  func(*provider.Options)
	}{
		{"arn:aws:iam::123:role/x", nil},
		{s.role, func(o *provider.Options) { o.RoleSessionName = "has space" }},
		{s.role, func(o *provider.Options) { o.Duration = time.Minute }},
		{s.role, func(o *provider.Options) { o.Policy = strings.Repeat("x", 2049) }},
		{s.role, func(o *provider.Options) { o.PolicyARNs = make([]string, 11) }},
		{s.role, func(o *provider.Options) { o.ProviderID = "https://www.amazon.com:443/x" }},
	}
	for _, b := range bad {
		if _, err := provider.New(s.client, b.role, tokensource.Static(s.token), b.opt); err == nil {
			t.Errorf("New(%q) accepted bad input", b.role)
		}
	}
	p := s.provider(t, tokensource.Func(func(context.Context) (tokensource.Token, error) { return tokensource.Token{}, nil }))
	if _, err := p.Retrieve(context.Background()); err == nil {
		t.Error("Retrieve with an empty token succeeded")
	}
	if got := s.srv.Calls(assume); got != 0 {
		t.Fatalf("requests reaching STS = %d, want 0", got)
	}
}

func TestIntegrationFromEnvironment(t *testing.T) {
	clearEnv(t)
	s := newStack(t, ststest.Role{Name: "irsa"})
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(s.token), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_STS", s.srv.URL())
	t.Setenv("AWS_ROLE_ARN", s.role)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path)
	t.Setenv("AWS_ROLE_SESSION_NAME", "irsa-session")
	// No client, and no region configured: the client FromEnvironment
	// builds finds ststest through AWS_ENDPOINT_URL_STS.
	p, err := provider.FromEnvironment(nil, noWait)
	if err != nil {
		t.Fatal(err)
	}
	_, md, err := retrieveMD(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(md.AssumedRoleARN, ":assumed-role/irsa/irsa-session") || s.srv.Calls(assume) != 1 {
		t.Fatalf("metadata %+v after %d requests", md, s.srv.Calls(assume))
	}
}

// TestIntegrationCanceledInFlight cancels the caller's context while the
// request is held by the server: Retrieve returns at once, canceled.
func TestIntegrationCanceledInFlight(t *testing.T) {
	s := newStack(t, ststest.Role{})
	release := s.srv.Hold(assume)
	defer release()
	p := s.provider(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := retrieveAsync(ctx, p)
	if err := s.srv.WaitCalls(context.Background(), assume, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	if re := mustRetrieveError(t, err); re.Class != provider.ClassCanceled || !errors.Is(err, context.Canceled) || re.Attempts != 1 {
		t.Fatalf("error %v", err)
	}
}

// TestIntegrationCanceledDuringBackoff: ctx ends while the provider waits
// on its (fake) clock between two real requests.
func TestIntegrationCanceledDuringBackoff(t *testing.T) {
	s := newStack(t, ststest.Role{})
	s.srv.Fail(assume, ststest.Fault{Code: "Throttling", Times: -1})
	clk := clock.NewFake(time.Now())
	p, err := provider.New(s.client, s.role, tokensource.Static(s.token), func(o *provider.Options) { o.Clock = clk })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := retrieveAsync(ctx, p)
	if err := clk.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err = <-done
	if re := mustRetrieveError(t, err); re.Class != provider.ClassCanceled || re.Code != "Throttling" || s.srv.Calls(assume) != 1 {
		t.Fatalf("error %v after %d requests", err, s.srv.Calls(assume))
	}
}

// incompressiblePolicy returns a valid policy of about n characters whose
// content does not compress, so it packs over the budget.
func incompressiblePolicy(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return `{"Version":"2012-10-17","Statement":[{"Sid":"` + string(b) + `","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
}

// noDelayRetryer keeps the SDK's retry decisions but without its real
// sleeps, so the stscreds comparison runs instantly.
func noDelayRetryer(r aws.Retryer) aws.Retryer { return zeroDelay{r} }

type zeroDelay struct{ aws.Retryer }

func (zeroDelay) RetryDelay(int, error) (time.Duration, error) { return 0, nil }
