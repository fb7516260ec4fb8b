package ststest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func TestAssumeRoleWithWebIdentitySuccess(t *testing.T) {
	for _, alg := range supportedAlgs {
		t.Run(alg, func(t *testing.T) {
			s, clk := newTestServer(t)
			ctx := testContext(t)
			arn := s.AddRole(Role{Name: "app"})
			tok := s.MintToken(Claims{Alg: alg, Subject: "system:serviceaccount:ns:app"})
			out, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(arn),
				RoleSessionName:  aws.String("sess"),
				WebIdentityToken: aws.String(tok),
				DurationSeconds:  aws.Int32(1800),
			})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Credentials
			if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || len(aws.ToString(c.AccessKeyId)) != 20 {
				t.Errorf("AccessKeyId = %q", aws.ToString(c.AccessKeyId))
			}
			if len(aws.ToString(c.SecretAccessKey)) != 40 || aws.ToString(c.SessionToken) == "" {
				t.Error("missing secret key or session token")
			}
			if want := clk.Now().Add(30 * time.Minute); !c.Expiration.Equal(want) {
				t.Errorf("Expiration = %v, want %v", c.Expiration, want)
			}
			if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::123456789012:assumed-role/app/sess"; got != want {
				t.Errorf("Arn = %q, want %q", got, want)
			}
			if id := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":sess") {
				t.Errorf("AssumedRoleId = %q", id)
			}
			if got := aws.ToString(out.SubjectFromWebIdentityToken); got != "system:serviceaccount:ns:app" {
				t.Errorf("Subject = %q", got)
			}
			if got := aws.ToString(out.Audience); got != defaultAudience {
				t.Errorf("Audience = %q", got)
			}
			wantProvider := "arn:aws:iam::123456789012:oidc-provider/" + strings.TrimPrefix(s.Issuer(), "http://")
			if got := aws.ToString(out.Provider); got != wantProvider {
				t.Errorf("Provider = %q, want %q", got, wantProvider)
			}
			//lint:ignore SA1019 AWS still documents and sends PackedPolicySize.
			if out.PackedPolicySize != nil || out.SourceIdentity != nil {
				t.Errorf("PackedPolicySize or SourceIdentity set: %v", out.SourceIdentity)
			}
			if got := int(aws.ToInt32(out.SessionTokenSize)); got != len(aws.ToString(c.SessionToken)) {
				t.Errorf("SessionTokenSize = %d, token has %d bytes", got, len(aws.ToString(c.SessionToken)))
			}
			sessions := s.Sessions()
			if len(sessions) != 1 || sessions[0].AccessKeyID != aws.ToString(c.AccessKeyId) || sessions[0].Duration != 30*time.Minute {
				t.Errorf("Sessions() = %+v", sessions)
			}
		})
	}
}

func TestAssumeRoleWithWebIdentityOptionalOutputs(t *testing.T) {
	tests := []struct {
		name   string
		role   Role
		claims Claims
		input  func(*sts.AssumeRoleWithWebIdentityInput)
		check  func(*testing.T, *sts.AssumeRoleWithWebIdentityOutput)
	}{{
		name:   "source identity",
		claims: Claims{Extra: map[string]any{sourceIdentityClaim: "alice-ci"}},
		check: func(t *testing.T, out *sts.AssumeRoleWithWebIdentityOutput) {
			if got := aws.ToString(out.SourceIdentity); got != "alice-ci" {
				t.Errorf("SourceIdentity = %q", got)
			}
		},
	}, {
		name: "session policy",
		input: func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
			in.PolicyArns = []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}}
		},
		check: func(t *testing.T, out *sts.AssumeRoleWithWebIdentityOutput) {
			//lint:ignore SA1019 AWS still documents and sends PackedPolicySize.
			if n := aws.ToInt32(out.PackedPolicySize); n <= 0 || n > 100 {
				t.Errorf("PackedPolicySize = %d", n)
			}
		},
	}, {
		name: "MinIO ARN",
		role: Role{ARN: "arn:minio:iam:::role/dRtV0x2V"},
		check: func(t *testing.T, out *sts.AssumeRoleWithWebIdentityOutput) {
			if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:minio:sts:::assumed-role/dRtV0x2V/sess"; got != want {
				t.Errorf("Arn = %q, want %q", got, want)
			}
		},
	}, {
		name:  "minimum session token size",
		input: func(in *sts.AssumeRoleWithWebIdentityInput) { in.MinimumSessionTokenSize = aws.Int32(4096) },
		check: func(t *testing.T, out *sts.AssumeRoleWithWebIdentityOutput) {
			if n := len(aws.ToString(out.Credentials.SessionToken)); n != 4096 || aws.ToInt32(out.SessionTokenSize) != 4096 {
				t.Errorf("session token of %d bytes, SessionTokenSize %d", n, aws.ToInt32(out.SessionTokenSize))
			}
		},
	}, {
		name:   "subject glob",
		role:   Role{Subject: "system:serviceaccount:ns:*"},
		claims: Claims{Subject: "system:serviceaccount:ns:app"},
	}, {
		name:   "audience list",
		claims: Claims{Extra: map[string]any{"aud": []string{"other", defaultAudience}}},
	}, {
		name:  "12h role",
		role:  Role{MaxSessionDuration: 12 * time.Hour},
		input: func(in *sts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(43200) },
	}, {
		// 2,000 characters, 3,000 bytes: the limit is 2,048 characters.
		name: "Latin-1 policy under 2048 characters",
		input: func(in *sts.AssumeRoleWithWebIdentityInput) {
			in.Policy = aws.String(`{"Statement":[],"Sid":"` + strings.Repeat("é", 1000) + strings.Repeat("x", 2000-23-2-1000) + `"}`)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t)
			in := &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(s.AddRole(tt.role)),
				RoleSessionName:  aws.String("sess"),
				WebIdentityToken: aws.String(s.MintToken(tt.claims)),
			}
			if tt.input != nil {
				tt.input(in)
			}
			out, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestAssumeRoleWithWebIdentityErrors(t *testing.T) {
	type setup struct {
		s   *Server
		clk *fakeNow
		arn string
		in  *sts.AssumeRoleWithWebIdentityInput
	}
	tests := []struct {
		name       string
		setup      func(*setup)
		wantCode   string
		wantStatus int
		wantType   any    // pointer to an SDK error type, or nil
		wantMsg    string // substring of the message
	}{
		{name: "expired", wantCode: "ExpiredTokenException", wantStatus: 400, wantType: new(*types.ExpiredTokenException),
			setup: func(c *setup) { c.clk.Advance(2 * time.Hour) }, wantMsg: "Token expired: current date/time"},
		{name: "alg none", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) { c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Alg: "none"})) }},
		{name: "HS256 keyed with the public key", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) { c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Alg: "HS256"})) }},
		{name: "PS256", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) { c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Alg: "PS256"})) }},
		{name: "unknown key", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) { c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{UnknownKey: true})) }},
		{name: "unknown key under a published kid", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{UnknownKey: true, keyID: c.s.keys.rsa.kid}))
			}, wantMsg: "signature"},
		{name: "wrong kid", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) { c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{keyID: "nope"})) }, wantMsg: "kid"},
		{name: "kid of an EC key on RS256", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{keyID: c.s.keys.ec["ES256"].kid}))
			}},
		{name: "tampered payload", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				parts := strings.Split(*c.in.WebIdentityToken, ".")
				other := strings.Split(c.s.MintToken(Claims{Subject: "admin"}), ".")
				c.in.WebIdentityToken = aws.String(parts[0] + "." + other[1] + "." + parts[2])
			}},
		{name: "not a JWT", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) { c.in.WebIdentityToken = aws.String("not-a-jwt") }},
		// STS wants NumericDates as JSON integers.
		{name: "fractional exp", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Extra: map[string]any{"exp": float64(epoch.Add(time.Hour).Unix()) + 0.5}}))
			}},
		{name: "quoted exp", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Extra: map[string]any{"exp": strconv.FormatInt(epoch.Add(time.Hour).Unix(), 10)}}))
			}},
		{name: "fractional nbf", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Extra: map[string]any{"nbf": float64(epoch.Add(-time.Hour).Unix()) + 0.5}}))
			}},
		{name: "unknown issuer", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Issuer: "https://elsewhere.example"}))
			}, wantMsg: "No OpenIDConnect provider found"},
		{name: "no exp", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Extra: map[string]any{"exp": nil}}))
			}},
		{name: "not yet valid", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup: func(c *setup) {
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{notBefore: c.clk.Now().Add(time.Minute)}))
			}},
		{name: "unregistered audience", wantCode: "InvalidIdentityToken", wantStatus: 400, wantType: new(*types.InvalidIdentityTokenException),
			setup:   func(c *setup) { c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Audience: "stranger"})) },
			wantMsg: "Incorrect token audience"},
		{name: "audience not trusted by the role", wantCode: "AccessDenied", wantStatus: 403,
			setup: func(c *setup) {
				c.s.addAudience(c.s.Issuer(), "other-client")
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Audience: "other-client"}))
			}, wantMsg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "subject not trusted by the role", wantCode: "AccessDenied", wantStatus: 403,
			setup: func(c *setup) {
				c.in.RoleArn = aws.String(c.s.AddRole(Role{Name: "narrow", Subject: "repo:org/app:*"}))
				c.in.WebIdentityToken = aws.String(c.s.MintToken(Claims{Subject: "repo:org/other:ref"}))
			}},
		{name: "unknown role", wantCode: "AccessDenied", wantStatus: 403,
			setup: func(c *setup) { c.in.RoleArn = aws.String("arn:aws:iam::123456789012:role/nobody") }},
		{name: "duration under 900", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.DurationSeconds = aws.Int32(899) }, wantMsg: "greater than or equal to 900"},
		{name: "duration over 12h", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.DurationSeconds = aws.Int32(43201) }},
		{name: "duration over role max", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.DurationSeconds = aws.Int32(3601) }, wantMsg: "MaxSessionDuration"},
		{name: "session name charset", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.RoleSessionName = aws.String("has space") }, wantMsg: "regular expression"},
		{name: "session name too short", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.RoleSessionName = aws.String("a") }},
		{name: "session name too long", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.RoleSessionName = aws.String(strings.Repeat("a", 65)) }},
		{name: "policy too long", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.Policy = aws.String(`{"Statement":[],"x":"` + strings.Repeat("a", 2048) + `"}`) }},
		{name: "policy charset", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.Policy = aws.String(`{"Statement":[],"x":"€"}`) }},
		{name: "policy not JSON", wantCode: "MalformedPolicyDocument", wantStatus: 400, wantType: new(*types.MalformedPolicyDocumentException),
			setup: func(c *setup) { c.in.Policy = aws.String(`{"Statement": [`) }},
		{name: "policy without statement", wantCode: "MalformedPolicyDocument", wantStatus: 400, wantType: new(*types.MalformedPolicyDocumentException),
			setup: func(c *setup) { c.in.Policy = aws.String(`{"Version":"2012-10-17"}`) }},
		{name: "packed policy too large", wantCode: "PackedPolicyTooLarge", wantStatus: 400, wantType: new(*types.PackedPolicyTooLargeException),
			setup: func(c *setup) { c.in.Policy = aws.String(incompressiblePolicy(t, 1900)) }, wantMsg: "% of allotted space"},
		{name: "too many policy ARNs", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) {
				for i := range 11 {
					c.in.PolicyArns = append(c.in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i))})
				}
			}},
		{name: "minimum session token size over 4096", wantCode: "ValidationError", wantStatus: 400,
			setup: func(c *setup) { c.in.MinimumSessionTokenSize = aws.Int32(4097) }},
		{name: "ProviderId with an OIDC token", wantCode: "InvalidParameterValue", wantStatus: 400,
			setup: func(c *setup) { c.in.ProviderId = aws.String("www.amazon.com") }},
		// Faults for the codes STS never produces by itself.
		{name: "IDPCommunicationError", wantCode: "IDPCommunicationError", wantStatus: 400, wantType: new(*types.IDPCommunicationErrorException),
			setup: func(c *setup) { c.s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Code: "IDPCommunicationError"}) }},
		{name: "IDPRejectedClaim", wantCode: "IDPRejectedClaim", wantStatus: 403, wantType: new(*types.IDPRejectedClaimException),
			setup: func(c *setup) { c.s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Code: "IDPRejectedClaim"}) }},
		{name: "RegionDisabled", wantCode: "RegionDisabledException", wantStatus: 403, wantType: new(*types.RegionDisabledException),
			setup: func(c *setup) { c.s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Code: "RegionDisabledException"}) }},
		{name: "Throttling", wantCode: "Throttling", wantStatus: 400,
			setup: func(c *setup) { c.s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Code: "Throttling"}) }},
		{name: "InternalFailure", wantCode: "InternalFailure", wantStatus: 500,
			setup: func(c *setup) { c.s.Fail(ActionAssumeRoleWithWebIdentity, Fault{}) }},
		{name: "custom status", wantCode: "ServiceUnavailable", wantStatus: 502,
			setup: func(c *setup) {
				c.s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Code: "ServiceUnavailable", Status: 502})
			}},
		{name: "JWKS unavailable", wantCode: "IDPCommunicationError", wantStatus: 400, wantType: new(*types.IDPCommunicationErrorException),
			setup: func(c *setup) { c.s.Fail(ActionJWKS, Fault{Code: "server_error"}) }},
		{name: "discovery unavailable", wantCode: "IDPCommunicationError", wantStatus: 400, wantType: new(*types.IDPCommunicationErrorException),
			setup: func(c *setup) { c.s.Fail(ActionDiscovery, Fault{Malformed: true}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestServer(t)
			arn := s.AddRole(Role{Name: "app"})
			c := &setup{s: s, clk: clk, arn: arn, in: &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(arn),
				RoleSessionName:  aws.String("sess"),
				WebIdentityToken: aws.String(s.MintToken(Claims{})),
			}}
			tt.setup(c)
			_, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), c.in)
			if err == nil {
				t.Fatal("AssumeRoleWithWebIdentity succeeded")
			}
			code, status := apiCode(t, err)
			if code != tt.wantCode || status != tt.wantStatus {
				t.Errorf("code, status = %s, %d; want %s, %d (%v)", code, status, tt.wantCode, tt.wantStatus, err)
			}
			if tt.wantType != nil && !errors.As(err, tt.wantType) {
				t.Errorf("error %v is not a %T", err, tt.wantType)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), aws.ToString(c.in.WebIdentityToken)) {
				t.Error("error message contains the token")
			}
			if got := s.Calls(ActionAssumeRoleWithWebIdentity); got != 1 {
				t.Errorf("Calls = %d, want 1", got)
			}
			if n := len(s.Sessions()); n != 0 {
				t.Errorf("%d sessions issued", n)
			}
		})
	}
}

// incompressiblePolicy returns a valid policy of about n characters whose
// content does not compress.
func incompressiblePolicy(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n*3/4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	noise := base64.RawURLEncoding.EncodeToString(b)
	p := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + noise + `"}]}`
	return p
}

func TestForeignIssuer(t *testing.T) {
	idp, _ := newTestServer(t)
	s, _ := newTestServer(t)
	arn := s.AddRole(Role{Name: "app", Issuer: idp.Issuer(), Audience: "my-client"})
	client := s.STSClient(noRetry)
	ctx := testContext(t)
	assume := func(tok string) error {
		_, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(arn), RoleSessionName: aws.String("sess"), WebIdentityToken: aws.String(tok),
		})
		return err
	}
	if err := assume(idp.MintToken(Claims{Audience: "my-client"})); err != nil {
		t.Fatalf("token of the trusted IdP: %v", err)
	}
	if idp.Calls(ActionDiscovery) != 1 || idp.Calls(ActionJWKS) != 1 {
		t.Errorf("IdP calls: discovery %d, JWKS %d; want 1, 1", idp.Calls(ActionDiscovery), idp.Calls(ActionJWKS))
	}
	// A token claiming the IdP's issuer but signed by s's keys.
	forged := s.MintToken(Claims{Issuer: idp.Issuer(), Audience: "my-client", keyID: idp.keys.rsa.kid})
	var invalid *types.InvalidIdentityTokenException
	if err := assume(forged); !errors.As(err, &invalid) {
		t.Errorf("forged token: %v, want InvalidIdentityToken", err)
	}
	// Every JWKS fetch is reset (net/http retries a GET once on a reused
	// connection).
	idp.Fail(ActionJWKS, Fault{Reset: true, Times: -1})
	var comm *types.IDPCommunicationErrorException
	if err := assume(idp.MintToken(Claims{Audience: "my-client"})); !errors.As(err, &comm) {
		t.Errorf("JWKS reset: %v, want IDPCommunicationError", err)
	}
	idp.ClearFaults(ActionJWKS)
	idp.Close()
	if err := assume(idp.MintToken(Claims{Audience: "my-client"})); !errors.As(err, &comm) {
		t.Errorf("IdP down: %v, want IDPCommunicationError", err)
	}
}
