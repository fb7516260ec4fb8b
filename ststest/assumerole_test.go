package ststest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// hop calls AssumeRole signed with creds through the real sts client.
func hop(t *testing.T, s *Server, creds aws.Credentials, in *sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) {
	t.Helper()
	if in.RoleSessionName == nil {
		in.RoleSessionName = aws.String("hop")
	}
	return sts.NewFromConfig(s.Config(static(creds)), noRetry).AssumeRole(testContext(t), in)
}

func credsOf(out *sts.AssumeRoleOutput) aws.Credentials {
	return aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Expires:         aws.ToTime(out.Credentials.Expiration),
		CanExpire:       true,
	}
}

// TestAssumeRoleChain assumes two roles after web identity, trusted by role
// ARN and then by account, and checks that GetCallerIdentity reports the
// last hop.
func TestAssumeRoleChain(t *testing.T) {
	s, clk := newTestServer(t)
	base := assumeCreds(t, s) // role "app" in DefaultAccountID
	appARN := "arn:aws:iam::" + DefaultAccountID + ":role/app"
	mid := s.AddRole(Role{ARN: "arn:aws:iam::111122223333:role/mid", TrustedPrincipals: []string{appARN}})
	target := s.AddRole(Role{ARN: "arn:aws:iam::444455556666:role/target", TrustedPrincipals: []string{"arn:aws:iam::111122223333:root"}})

	out1, err := hop(t, s, base, &sts.AssumeRoleInput{RoleArn: aws.String(mid), RoleSessionName: aws.String("one")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out1.AssumedRoleUser.Arn), "arn:aws:sts::111122223333:assumed-role/mid/one"; got != want {
		t.Errorf("hop 1 Arn = %q, want %q", got, want)
	}
	if got, want := aws.ToTime(out1.Credentials.Expiration), clk.Now().Add(time.Hour); !got.Equal(want) {
		t.Errorf("hop 1 Expiration = %v, want %v (the default hour)", got, want)
	}
	out2, err := hop(t, s, credsOf(out1), &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("two"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(s.Config(static(credsOf(out2))), noRetry).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(id.Arn), "arn:aws:sts::444455556666:assumed-role/target/two"; got != want {
		t.Errorf("GetCallerIdentity Arn = %q, want %q", got, want)
	}
	if got := aws.ToString(id.Account); got != "444455556666" {
		t.Errorf("Account = %q", got)
	}
	if n := s.Calls(ActionAssumeRole); n != 2 {
		t.Errorf("Calls(AssumeRole) = %d, want 2", n)
	}
	s.mu.Lock()
	callerARN := s.roles[target].chained[aws.ToString(out2.Credentials.AccessKeyId)].callerARN
	s.mu.Unlock()
	if callerARN != "arn:aws:sts::111122223333:assumed-role/mid/one" {
		t.Errorf("caller of hop 2 = %q", callerARN)
	}
}

// TestAssumeRoleTrustRule runs the trust rule's refusals and the chain cap
// over HTTP: each answer's code, status and message as STS sends them.
func TestAssumeRoleTrustRule(t *testing.T) {
	appARN := "arn:aws:iam::" + DefaultAccountID + ":role/app"
	tests := []struct {
		name     string
		role     Role
		in       sts.AssumeRoleInput
		wantCode string // "" for success
		wantMsg  string
	}{
		{name: "trusted by role", role: Role{TrustedPrincipals: []string{appARN}}},
		{name: "trusted by account", role: Role{TrustedPrincipals: []string{DefaultAccountID}}},
		{name: "no principal", role: Role{}, wantCode: "AccessDenied", wantMsg: "User: arn:aws:sts::123456789012:assumed-role/app/sess is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/r"},
		{name: "other principal", role: Role{TrustedPrincipals: []string{"arn:aws:iam::123456789012:role/other", "999999999999"}}, wantCode: "AccessDenied"},
		{name: "external ID", role: Role{TrustedPrincipals: []string{appARN}, ExternalID: "ext-123"}, in: sts.AssumeRoleInput{ExternalId: aws.String("ext-123")}},
		{name: "external ID missing", role: Role{TrustedPrincipals: []string{appARN}, ExternalID: "ext-123"}, wantCode: "AccessDenied"},
		{name: "external ID wrong", role: Role{TrustedPrincipals: []string{appARN}, ExternalID: "ext-123"}, in: sts.AssumeRoleInput{ExternalId: aws.String("ext-124")}, wantCode: "AccessDenied"},
		{name: "one hour", role: Role{TrustedPrincipals: []string{appARN}, MaxSessionDuration: 12 * time.Hour}, in: sts.AssumeRoleInput{DurationSeconds: aws.Int32(3600)}},
		{name: "over the chain cap", role: Role{TrustedPrincipals: []string{appARN}, MaxSessionDuration: 12 * time.Hour}, in: sts.AssumeRoleInput{DurationSeconds: aws.Int32(3601)}, wantCode: "ValidationError", wantMsg: chainCapMessage},
		{name: "tags without TagSession", role: Role{TrustedPrincipals: []string{appARN}}, in: sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}, wantCode: "AccessDenied", wantMsg: "sts:TagSession"},
		{name: "tags with TagSession", role: Role{TrustedPrincipals: []string{appARN}, TagSession: true}, in: sts.AssumeRoleInput{Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}, TransitiveTagKeys: []string{"team"}}},
		{name: "transitive key not a tag", role: Role{TrustedPrincipals: []string{appARN}, TagSession: true}, in: sts.AssumeRoleInput{TransitiveTagKeys: []string{"team"}}, wantCode: "InvalidParameterValue"},
		{name: "malformed policy", role: Role{TrustedPrincipals: []string{appARN}}, in: sts.AssumeRoleInput{Policy: aws.String(`{"Version":"2012-10-17"}`)}, wantCode: "MalformedPolicyDocument"},
		{name: "policy too large", role: Role{TrustedPrincipals: []string{appARN}}, in: sts.AssumeRoleInput{Policy: aws.String(randomPolicy(2000))}, wantCode: "PackedPolicyTooLarge", wantMsg: "Packed policy consumes"},
		{name: "bad session name", role: Role{TrustedPrincipals: []string{appARN}}, in: sts.AssumeRoleInput{RoleSessionName: aws.String("a b")}, wantCode: "ValidationError", wantMsg: "roleSessionName"},
		{name: "external ID not echoed", role: Role{TrustedPrincipals: []string{appARN}}, in: sts.AssumeRoleInput{ExternalId: aws.String("secret external id")}, wantCode: "ValidationError", wantMsg: "'externalId'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t)
			base := assumeCreds(t, s)
			tt.role.Name = "r"
			in := tt.in
			in.RoleArn = aws.String(s.AddRole(tt.role))
			out, err := hop(t, s, base, &in)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("AssumeRole: %v", err)
				}
				if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/r/hop" {
					t.Errorf("Arn = %q", got)
				}
				return
			}
			if err == nil {
				t.Fatal("AssumeRole succeeded")
			}
			code, status := apiCode(t, err)
			if code != tt.wantCode || status != newError(tt.wantCode, "").Status {
				t.Errorf("code, status = %s, %d; want %s (%v)", code, status, tt.wantCode, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "secret external id") {
				t.Errorf("error %q echoes the external ID", err)
			}
		})
	}
}

// randomPolicy is a valid policy of about n characters that compresses
// badly.
func randomPolicy(n int) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + randomString(base64ish, n-110) + `"}]}`
}

// TestAssumeRoleTransitiveTags carries a transitive tag through a chain: a
// next role without sts:TagSession refuses the caller, one with it
// inherits the tag even though the call passes none.
func TestAssumeRoleTransitiveTags(t *testing.T) {
	s, _ := newTestServer(t)
	base := assumeCreds(t, s)
	appARN := "arn:aws:iam::" + DefaultAccountID + ":role/app"
	first := s.AddRole(Role{Name: "first", TrustedPrincipals: []string{appARN}, TagSession: true})
	out, err := hop(t, s, base, &sts.AssumeRoleInput{
		RoleArn:           aws.String(first),
		Tags:              []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}, {Key: aws.String("ticket"), Value: aws.String("42")}},
		TransitiveTagKeys: []string{"team"},
	})
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 STS still sends it, and ststest reports it.
	size := out.PackedPolicySize //nolint:staticcheck // SA1019, see above.
	if size == nil || *size <= 0 {
		t.Errorf("PackedPolicySize = %v, want the tags' share", size)
	}
	firstARN := "arn:aws:iam::" + DefaultAccountID + ":role/first"
	untagged := s.AddRole(Role{Name: "untagged", TrustedPrincipals: []string{firstARN}})
	if _, err := hop(t, s, credsOf(out), &sts.AssumeRoleInput{RoleArn: aws.String(untagged)}); err == nil {
		t.Fatal("a role without sts:TagSession accepted a caller carrying transitive tags")
	} else if code, _ := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("code = %s, want AccessDenied", code)
	}
	tagged := s.AddRole(Role{Name: "tagged", TrustedPrincipals: []string{firstARN}, TagSession: true})
	if _, err := hop(t, s, credsOf(out), &sts.AssumeRoleInput{RoleArn: aws.String(tagged), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("red")}}}); err == nil {
		t.Fatal("a later hop changed a transitive tag")
	}
	out2, err := hop(t, s, credsOf(out), &sts.AssumeRoleInput{RoleArn: aws.String(tagged)})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	got := *s.roles[tagged].chained[aws.ToString(out2.Credentials.AccessKeyId)]
	s.mu.Unlock()
	if got.tags["team"] != "blue" || len(got.tags) != 1 || len(got.transitive) != 1 {
		t.Errorf("second hop carries tags %v, transitive %v; want only team=blue, transitive", got.tags, got.transitive)
	}
}

// TestAssumeRoleSourceIdentity sets a source identity at the first hop; a
// later hop keeps it, and asking for another is refused.
func TestAssumeRoleSourceIdentity(t *testing.T) {
	s, _ := newTestServer(t)
	base := assumeCreds(t, s)
	appARN := "arn:aws:iam::" + DefaultAccountID + ":role/app"
	first := s.AddRole(Role{Name: "first", TrustedPrincipals: []string{appARN}})
	out, err := hop(t, s, base, &sts.AssumeRoleInput{RoleArn: aws.String(first), SourceIdentity: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.SourceIdentity); got != "alice" {
		t.Errorf("SourceIdentity = %q", got)
	}
	second := s.AddRole(Role{Name: "second", TrustedPrincipals: []string{DefaultAccountID}})
	out2, err := hop(t, s, credsOf(out), &sts.AssumeRoleInput{RoleArn: aws.String(second)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out2.SourceIdentity); got != "alice" {
		t.Errorf("second hop SourceIdentity = %q, want alice carried", got)
	}
	if _, err := hop(t, s, credsOf(out2), &sts.AssumeRoleInput{RoleArn: aws.String(second), SourceIdentity: aws.String("mallory")}); err == nil {
		t.Fatal("the source identity changed along the chain")
	} else if code, _ := apiCode(t, err); code != "AccessDenied" {
		t.Errorf("code = %s, want AccessDenied", code)
	}
}

// TestAssumeRoleAuthentication refuses unsigned, unknown and expired
// callers with the codes GetCallerIdentity uses.
func TestAssumeRoleAuthentication(t *testing.T) {
	s, clk := newTestServer(t)
	base := assumeCreds(t, s)
	role := s.AddRole(Role{Name: "r", TrustedPrincipals: []string{DefaultAccountID}})
	client := sts.NewFromConfig(s.Config(nil), noRetry)
	_, err := client.AssumeRole(testContext(t), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("x1")})
	if code, status := apiCode(t, err); code != "MissingAuthenticationToken" || status != http.StatusForbidden {
		t.Errorf("anonymous: %s %d", code, status)
	}
	forged := base
	forged.SecretAccessKey = strings.Repeat("x", 40)
	_, err = hop(t, s, forged, &sts.AssumeRoleInput{RoleArn: aws.String(role)})
	if code, _ := apiCode(t, err); code != "SignatureDoesNotMatch" {
		t.Errorf("forged: %s", code)
	}
	clk.Advance(time.Hour)
	_, err = hop(t, s, base, &sts.AssumeRoleInput{RoleArn: aws.String(role)})
	if code, _ := apiCode(t, err); code != "ExpiredToken" {
		t.Errorf("expired: %s", code)
	}
	if n := s.Calls(ActionAssumeRole); n != 3 {
		t.Errorf("Calls(AssumeRole) = %d, want 3", n)
	}
}

// TestAssumeRoleTransitiveTagsCannotBePassedAgain: as STS documents for
// AssumeRole, a later hop that passes a session tag with the key of an
// inherited transitive tag fails, whatever the value and whatever the case
// of the key (tag keys are not case sensitive); so does one request with
// two keys that differ by case only.
func TestAssumeRoleTransitiveTagsCannotBePassedAgain(t *testing.T) {
	s, _ := newTestServer(t)
	base := assumeCreds(t, s)
	appARN := "arn:aws:iam::" + DefaultAccountID + ":role/app"
	first := s.AddRole(Role{Name: "first", TrustedPrincipals: []string{appARN}, TagSession: true})
	out, err := hop(t, s, base, &sts.AssumeRoleInput{
		RoleArn:           aws.String(first),
		Tags:              []types.Tag{{Key: aws.String("Team"), Value: aws.String("blue")}},
		TransitiveTagKeys: []string{"Team"},
	})
	if err != nil {
		t.Fatal(err)
	}
	firstARN := "arn:aws:iam::" + DefaultAccountID + ":role/first"
	next := s.AddRole(Role{Name: "next", TrustedPrincipals: []string{firstARN}, TagSession: true})
	for _, tag := range []types.Tag{
		{Key: aws.String("Team"), Value: aws.String("blue")},
		{Key: aws.String("team"), Value: aws.String("red")},
		{Key: aws.String("TEAM"), Value: aws.String("blue")},
	} {
		_, err := hop(t, s, credsOf(out), &sts.AssumeRoleInput{RoleArn: aws.String(next), Tags: []types.Tag{tag}})
		if err == nil {
			t.Errorf("a later hop passed %s=%s over the inherited transitive tag Team=blue", aws.ToString(tag.Key), aws.ToString(tag.Value))
		} else if code, _ := apiCode(t, err); code != "InvalidParameterValue" {
			t.Errorf("passing %s again: code %s, want InvalidParameterValue", aws.ToString(tag.Key), code)
		}
	}
	_, err = hop(t, s, base, &sts.AssumeRoleInput{
		RoleArn: aws.String(first),
		Tags:    []types.Tag{{Key: aws.String("Dept"), Value: aws.String("a")}, {Key: aws.String("dept"), Value: aws.String("b")}},
	})
	if err == nil {
		t.Error("one request with tag keys Dept and dept was accepted")
	} else if code, _ := apiCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("keys Dept and dept: code %s, want InvalidParameterValue", code)
	}
}
