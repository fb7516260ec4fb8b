package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// chainServer is an ststest server with a web identity role "pod" and the
// web identity provider for it, the base of a chain.
func chainServer(t *testing.T) (*ststest.Server, *provider.Provider) {
	t.Helper()
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	pod := srv.AddRole(ststest.Role{Name: "pod"})
	base, err := provider.New(srv.STSClient(), pod, tokensource.Static(srv.MintToken(ststest.Claims{})))
	if err != nil {
		t.Fatal(err)
	}
	return srv, base
}

func hopContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAssumeRoleChainOverHTTP runs web identity and two hops with every
// parameter through the real sts client and ststest, and checks the chained
// identity with GetCallerIdentity signed by the last hop's credentials.
func TestAssumeRoleChainOverHTTP(t *testing.T) {
	srv, base := chainServer(t)
	podARN := "arn:aws:iam::" + ststest.DefaultAccountID + ":role/pod"
	mid := srv.AddRole(ststest.Role{ARN: "arn:aws:iam::111122223333:role/mid", TrustedPrincipals: []string{podARN}, ExternalID: "partner-7", TagSession: true})
	target := srv.AddRole(ststest.Role{ARN: "arn:aws:iam::444455556666:role/target", TrustedPrincipals: []string{"111122223333"}, TagSession: true})

	hop1, err := provider.NewAssumeRole(srv.STSClient(), base, provider.Hop{
		RoleARN:           mid,
		RoleSessionName:   "mid-session",
		ExternalID:        "partner-7",
		Duration:          time.Hour,
		Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`,
		PolicyARNs:        []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		Tags:              map[string]string{"team": "blue", "ticket": "42"},
		TransitiveTagKeys: []string{"team"},
		SourceIdentity:    "alice",
	})
	if err != nil {
		t.Fatal(err)
	}
	hop2, err := provider.NewAssumeRole(srv.STSClient(), hop1, provider.Hop{RoleARN: target, Duration: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := hop2.Retrieve(hopContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if creds.Source != "AWSOIDCAssumeRole" || creds.AccountID != "444455556666" || !creds.CanExpire {
		t.Errorf("creds = Source %q, AccountID %q, CanExpire %t", creds.Source, creds.AccountID, creds.CanExpire)
	}
	id, err := sts.NewFromConfig(srv.Config(credentialsOf(creds))).GetCallerIdentity(hopContext(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(id.Arn), "arn:aws:sts::444455556666:assumed-role/target/awsoidc"; got != want {
		t.Errorf("identity = %q, want %q", got, want)
	}
	sessions := srv.Sessions()
	if len(sessions) != 3 {
		t.Fatalf("%d sessions, want 3 (web identity, two hops)", len(sessions))
	}
	s1, s2 := sessions[1], sessions[2]
	if s1.RoleSessionName != "mid-session" || s1.Duration != time.Hour || s1.Policy == "" || len(s1.PolicyARNs) != 1 || s1.SourceIdentity != "alice" {
		t.Errorf("hop 1 session = %+v", s1)
	}
	if s2.Duration != 15*time.Minute || s2.SourceIdentity != "alice" {
		t.Errorf("hop 2 session = %+v, want 15m and the source identity carried", s2)
	}
	if n := srv.Calls(ststest.ActionAssumeRole); n != 2 {
		t.Errorf("AssumeRole calls = %d, want 2", n)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, hop1); strings.Contains(out, "partner-7") || !strings.Contains(out, mid) {
			t.Errorf("%s of a hop = %q: want its role, not its external ID", verb, out)
		}
	}
}

func credentialsOf(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

// TestNewAssumeRoleValidation refuses each bad input before any call, with
// an error naming the hop's role and the field.
func TestNewAssumeRoleValidation(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/next"
	base := credentialsOf(aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "x"})
	tests := []struct {
		name  string
		hop   provider.Hop
		opt   func(*provider.Options)
		field string
		rule  string
	}{
		{"no role", provider.Hop{}, nil, "Hop.RoleARN", "must not be empty"},
		{"bad role", provider.Hop{RoleARN: "arn:aws:iam::1:role/x"}, nil, "Hop.RoleARN", ""},
		{"session name", provider.Hop{RoleARN: role, RoleSessionName: "a b"}, nil, "Hop.RoleSessionName", "may contain only"},
		{"over the chain cap", provider.Hop{RoleARN: role, Duration: 2 * time.Hour}, nil, "Hop.Duration", "caps a role-chained session"},
		{"too short", provider.Hop{RoleARN: role, Duration: time.Minute}, nil, "Hop.Duration", "between 15m0s and 1h0m0s"},
		{"external ID short", provider.Hop{RoleARN: role, ExternalID: "7"}, nil, "Hop.ExternalID", "2 to 1224"},
		{"external ID chars", provider.Hop{RoleARN: role, ExternalID: "no spaces here"}, nil, "Hop.ExternalID", "may contain only"},
		{"policy", provider.Hop{RoleARN: role, Policy: "[]"}, nil, "Hop.Policy", "JSON object"},
		{"policy ARN", provider.Hop{RoleARN: role, PolicyARNs: []string{""}}, nil, "Hop.PolicyARNs[0]", "must not be empty"},
		{"tag chars", provider.Hop{RoleARN: role, Tags: map[string]string{"team": "a*b"}}, nil, `Hop.Tags["team"]`, "may contain only"},
		{"tag keys differing by case", provider.Hop{RoleARN: role, Tags: map[string]string{"Dept": "a", "dept": "b"}}, nil, `Hop.Tags["dept"]`, "not case sensitive"},
		{"transitive not a tag", provider.Hop{RoleARN: role, TransitiveTagKeys: []string{"team"}}, nil, "Hop.TransitiveTagKeys[0]", "must be a key of Hop.Tags"},
		{"source identity", provider.Hop{RoleARN: role, SourceIdentity: "a"}, nil, "Hop.SourceIdentity", "2 to 64"},
		{"web identity option", provider.Hop{RoleARN: role}, func(o *provider.Options) { o.Duration = time.Hour }, "Options.Duration", "set Hop.Duration"},
		{"attempts", provider.Hop{RoleARN: role}, func(o *provider.Options) { o.MaxAttempts = 99 }, "Options.MaxAttempts", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := assumeRoleFunc(func(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
				t.Error("AssumeRole called")
				return nil, errors.New("unexpected")
			})
			var opts []func(*provider.Options)
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			_, err := provider.NewAssumeRole(client, base, tt.hop, opts...)
			var ve *provider.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("NewAssumeRole() = %v, want a ValidationError", err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Rule, tt.rule) {
				t.Errorf("ValidationError = {%q, %q}, want {%q, ...%q...}", ve.Field, ve.Rule, tt.field, tt.rule)
			}
			if !strings.Contains(err.Error(), "hop "+tt.hop.RoleARN) {
				t.Errorf("error %q does not name the hop's role", err)
			}
			if tt.hop.ExternalID != "" && strings.Contains(err.Error(), tt.hop.ExternalID) {
				t.Errorf("error %q shows the external ID", err)
			}
		})
	}
	if _, err := provider.NewAssumeRole(nil, nil, provider.Hop{RoleARN: role}); err == nil || !strings.Contains(err.Error(), "client") || !strings.Contains(err.Error(), "base") {
		t.Errorf("nil client and base: %v", err)
	}
}

type assumeRoleFunc func(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)

func (f assumeRoleFunc) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return f(ctx, in, optFns...)
}

// TestAssumeRoleErrors classifies STS's refusals and faults over HTTP.
func TestAssumeRoleErrors(t *testing.T) {
	podARN := "arn:aws:iam::" + ststest.DefaultAccountID + ":role/pod"
	tests := []struct {
		name      string
		role      ststest.Role
		hop       provider.Hop
		fault     *ststest.Fault
		wantClass provider.Class
		wantCode  string
		wantHint  string
	}{
		{"untrusted", ststest.Role{}, provider.Hop{}, nil, provider.ClassPermanent, "AccessDenied", "sts:AssumeRole"},
		{"wrong external ID", ststest.Role{TrustedPrincipals: []string{podARN}, ExternalID: "right-id"}, provider.Hop{ExternalID: "wrong-id"}, nil, provider.ClassPermanent, "AccessDenied", "Hop.ExternalID"},
		{"tags not allowed", ststest.Role{TrustedPrincipals: []string{podARN}}, provider.Hop{Tags: map[string]string{"k": "v"}}, nil, provider.ClassPermanent, "AccessDenied", "sts:TagSession"},
		{"throttled", ststest.Role{TrustedPrincipals: []string{podARN}}, provider.Hop{}, &ststest.Fault{Code: "Throttling"}, provider.ClassTransient, "Throttling", "retry later"},
		{"5xx", ststest.Role{TrustedPrincipals: []string{podARN}}, provider.Hop{}, &ststest.Fault{Code: "ServiceUnavailable"}, provider.ClassTransient, "ServiceUnavailable", "retry later"},
		{"base credentials expired on the way", ststest.Role{TrustedPrincipals: []string{podARN}}, provider.Hop{}, &ststest.Fault{Code: "ExpiredToken"}, provider.ClassTransient, "ExpiredToken", "the next refresh signs with fresh ones"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, base := chainServer(t)
			tt.role.Name = "next"
			tt.hop.RoleARN = srv.AddRole(tt.role)
			if tt.fault != nil {
				srv.Fail(ststest.ActionAssumeRole, *tt.fault)
			}
			a, err := provider.NewAssumeRole(srv.STSClient(func(o *sts.Options) { o.Retryer = aws.NopRetryer{} }), base, tt.hop)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Retrieve(hopContext(t))
			var he *provider.HopError
			if !errors.As(err, &he) {
				t.Fatalf("Retrieve() = %v, want a *HopError", err)
			}
			if he.Class != tt.wantClass || he.Code != tt.wantCode || he.RoleARN != tt.hop.RoleARN {
				t.Errorf("HopError = {%s %s %s}, want {%s %s %s}", he.Class, he.Code, he.RoleARN, tt.wantClass, tt.wantCode, tt.hop.RoleARN)
			}
			if !strings.Contains(err.Error(), tt.wantHint) {
				t.Errorf("error %q lacks %q", err, tt.wantHint)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tt.wantCode {
				t.Errorf("the SDK's error is not reachable through %v", err)
			}
			if got := provider.IsRetryable(err); got != (tt.wantClass == provider.ClassTransient) {
				t.Errorf("IsRetryable = %t", got)
			}
		})
	}
}

// TestAssumeRoleBaseFailure: when the base credentials fail, nothing is
// sent and the error keeps the base's class.
func TestAssumeRoleBaseFailure(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	pod := srv.AddRole(ststest.Role{Name: "pod"})
	base, err := provider.New(srv.STSClient(), pod, tokensource.Static(srv.MintToken(ststest.Claims{})))
	if err != nil {
		t.Fatal(err)
	}
	srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "IDPRejectedClaim"})
	next := srv.AddRole(ststest.Role{Name: "next", TrustedPrincipals: []string{pod}})
	a, err := provider.NewAssumeRole(srv.STSClient(), base, provider.Hop{RoleARN: next})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Retrieve(hopContext(t))
	var he *provider.HopError
	var re *provider.RetrieveError
	if !errors.As(err, &he) || !errors.As(err, &re) {
		t.Fatalf("Retrieve() = %v, want a HopError wrapping the base's RetrieveError", err)
	}
	if he.Class != provider.ClassPermanent || !strings.Contains(err.Error(), "base credentials") {
		t.Errorf("HopError class %s, message %q", he.Class, err)
	}
	if n := srv.Calls(ststest.ActionAssumeRole); n != 0 {
		t.Errorf("AssumeRole calls = %d, want 0", n)
	}
}

// TestHopErrorScrubsBaseSecrets: a server that echoes the signing
// credentials' session token and secret key never gets them printed.
func TestHopErrorScrubsBaseSecrets(t *testing.T) {
	const secret, token = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENvalue0123456789abcdef" //nolint:gosec // G101: fake credentials, for the scrubbing test
	base := credentialsOf(aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: secret, SessionToken: token})
	client := assumeRoleFunc(func(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
		var o sts.Options
		for _, fn := range optFns {
			fn(&o)
		}
		c, err := o.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, err
		}
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "token " + c.SessionToken + " key " + c.SecretAccessKey}
	})
	a, err := provider.NewAssumeRole(client, base, provider.Hop{RoleARN: "arn:aws:iam::111122223333:role/next"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Retrieve(t.Context())
	if err == nil {
		t.Fatal("Retrieve succeeded")
	}
	js, _ := json.Marshal(err)
	var he *provider.HopError
	if !errors.As(err, &he) {
		t.Fatalf("Retrieve() = %v, want a *HopError", err)
	}
	jsValue, _ := json.Marshal(struct{ E provider.HopError }{*he})
	for _, out := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprint(errors.Unwrap(fmt.Errorf("w: %w", err))), string(js),
		fmt.Sprintf("%+v", *he), fmt.Sprintf("%#v", *he), string(jsValue)} {
		if strings.Contains(out, token) || strings.Contains(out, secret) {
			t.Errorf("output shows a secret: %s", out)
		}
	}
	if !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("error %q lost the code", err)
	}
}

// TestAssumeRoleAttempts: the STS client's own retryer retries a hop
// (3 attempts by default); Options.MaxAttempts sets its attempts per call.
func TestAssumeRoleAttempts(t *testing.T) {
	podARN := "arn:aws:iam::" + ststest.DefaultAccountID + ":role/pod"
	for _, tt := range []struct {
		maxAttempts, want int
	}{{0, 3}, {1, 1}, {2, 2}} {
		t.Run(fmt.Sprint(tt.maxAttempts), func(t *testing.T) {
			srv, base := chainServer(t)
			next := srv.AddRole(ststest.Role{Name: "next", TrustedPrincipals: []string{podARN}})
			srv.Fail(ststest.ActionAssumeRole, ststest.Fault{Code: "Throttling", Times: -1})
			client := srv.STSClient(func(o *sts.Options) {
				// The SDK's retryer, without its waits between attempts.
				o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.Backoff = noBackoff{} })
			})
			a, err := provider.NewAssumeRole(client, base, provider.Hop{RoleARN: next}, func(o *provider.Options) { o.MaxAttempts = tt.maxAttempts })
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Retrieve(hopContext(t)); !provider.IsRetryable(err) {
				t.Fatalf("Retrieve() = %v, want a transient error", err)
			}
			if n := srv.Calls(ststest.ActionAssumeRole); n != tt.want {
				t.Errorf("AssumeRole requests = %d, want %d", n, tt.want)
			}
		})
	}
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// TestAssumeRoleCanceled: a caller that leaves gets ClassCanceled.
func TestAssumeRoleCanceled(t *testing.T) {
	srv, base := chainServer(t)
	next := srv.AddRole(ststest.Role{Name: "next", TrustedPrincipals: []string{"arn:aws:iam::" + ststest.DefaultAccountID + ":role/pod"}})
	release := srv.Hold(ststest.ActionAssumeRole)
	defer release()
	a, err := provider.NewAssumeRole(srv.STSClient(), credentialsOf(mustRetrieve(t, base)), provider.Hop{RoleARN: next})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(hopContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := a.Retrieve(ctx)
		done <- err
	}()
	if err := srv.WaitCalls(hopContext(t), ststest.ActionAssumeRole, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err = <-done
	var he *provider.HopError
	if !errors.As(err, &he) || he.Class != provider.ClassCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("Retrieve() = %v, want a canceled HopError", err)
	}
}

// TestAssumeRoleProviderSources: a hop reports STS AssumeRole to the SDK's
// feature tracking, as stscreds.AssumeRoleProvider does.
func TestAssumeRoleProviderSources(t *testing.T) {
	a, err := provider.NewAssumeRole(assumeRoleFunc(func(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
		return nil, errors.New("not called")
	}), credentialsOf(aws.Credentials{}), provider.Hop{RoleARN: "arn:aws:iam::123456789012:role/next"})
	if err != nil {
		t.Fatal(err)
	}
	var src aws.CredentialProviderSource = a
	if got := src.ProviderSources(); !slices.Equal(got, []aws.CredentialSource{aws.CredentialSourceSTSAssumeRole}) {
		t.Errorf("ProviderSources() = %v, want [%v]", got, aws.CredentialSourceSTSAssumeRole)
	}
}

func mustRetrieve(t *testing.T, p aws.CredentialsProvider) aws.Credentials {
	t.Helper()
	c, err := p.Retrieve(hopContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
