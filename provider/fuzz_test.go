package provider_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/provider"
)

// FuzzValidate feeds arbitrary inputs to New and Retrieve (with a fake STS
// client). Properties:
//   - New and Retrieve never panic;
//   - a refused input is one or more *ValidationError, each naming its
//     field and rule, echoing at most a shortened value, never the policy,
//     never a value that looks like a token or key;
//   - the token never appears in an error, however it fails;
//   - accepted inputs round-trip: Options() returns them, and the request
//     sent to STS carries exactly them (or a default session name that STS
//     accepts);
//   - CacheKey is a stable SHA-256 hex string.
//
// The seed corpus is in testdata/fuzz/FuzzValidate. CI runs
//
//	go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 10s ./provider/
func FuzzValidate(f *testing.F) {
	for _, s := range validateSeeds {
		f.Add(s.roleARN, s.session, s.policy, s.policyARNs, s.providerID, s.duration, s.attempts, s.minBackoff, s.maxBackoff, s.tokenSize, s.token)
	}
	f.Fuzz(func(t *testing.T, roleARN, session, policy, policyARNs, providerID string, duration int64, attempts int, minBackoff, maxBackoff int64, tokenSize int32, token string) {
		var arns []string
		if policyARNs != "" {
			arns = strings.Split(policyARNs, "\n")
		}
		inputs := []string{roleARN, session, policy, providerID, token}
		inputs = append(inputs, arns...)
		setOpts := func(o *provider.Options) {
			o.RoleSessionName = session
			o.Policy = policy
			o.PolicyARNs = arns
			o.ProviderID = providerID
			o.Duration = time.Duration(duration)
			o.MaxAttempts = attempts
			o.MinBackoff = time.Duration(minBackoff)
			o.MaxBackoff = time.Duration(maxBackoff)
			o.MinimumSessionTokenSize = tokenSize
			o.Rand = func() float64 { return 0 }
			o.Logger = nil
		}
		fake := newFake()
		p, err := provider.New(fake.client(), roleARN, newTokens(token), setOpts)
		if err != nil {
			if p != nil {
				t.Fatalf("New returned a provider with an error")
			}
			checkValidationErrors(t, err, policy, inputs)
			return
		}

		// Accepted: the inputs round-trip through Options.
		o := provider.OptionsOf(p)
		if provider.RoleARNOf(p) != roleARN || o.RoleSessionName != session || o.Policy != policy || !slices.Equal(o.PolicyARNs, arns) ||
			o.ProviderID != providerID || o.Duration != time.Duration(duration) || o.MinimumSessionTokenSize != tokenSize {
			t.Fatalf("Options() does not return the accepted inputs")
		}
		if o.MaxAttempts < 1 || o.MaxAttempts > provider.MaxMaxAttempts || o.MinBackoff < 0 || o.MaxBackoff < o.MinBackoff || o.MaxBackoff > provider.MaxBackoffLimit {
			t.Fatalf("retry options out of range after New: %d, %s, %s", o.MaxAttempts, o.MinBackoff, o.MaxBackoff)
		}
		key := p.CacheKey()
		if p2, err := provider.New(fake.client(), roleARN, newTokens(token), setOpts); err != nil || p2.CacheKey() != key {
			t.Fatalf("a second New with the same inputs: err %v, different key %v", err, err == nil && p2.CacheKey() != key)
		}
		if len(key) != 64 || strings.Trim(key, "0123456789abcdef") != "" {
			t.Fatalf("CacheKey %q is not hex SHA-256", key)
		}
		// A JWT is refused in every printed input, so it never shows. A
		// 40-character mixed run is also a valid role or session name
		// (CDK makes such names): printing the role ARN and session name
		// is intended, so only a token that is not one of those counts.
		printedInput := strings.Contains(roleARN, token) || strings.Contains(session, token)
		if looksLikeSecret(token) && strings.Contains(formats(p), token) && (testJWTRE.MatchString(token) || !printedInput) {
			t.Fatalf("the provider's fmt output holds the token")
		}

		// Retrieve: a bad token is refused before any request; a good one
		// goes out with every input unchanged.
		_, err = p.Retrieve(context.Background())
		if err != nil {
			re := mustRetrieveError(t, err)
			if re.Class != provider.ClassInvalidInput || fake.calls() != 0 {
				t.Fatalf("Retrieve failed with class %s after %d calls: %v", re.Class, fake.calls(), err)
			}
			var ve *provider.ValidationError
			if !errors.As(err, &ve) || ve.Field != "WebIdentityToken" || ve.Value != "" {
				t.Fatalf("token refusal is not a ValidationError of WebIdentityToken without value: %#v", err)
			}
			if len(token) >= 16 && !strings.Contains(roleARN, token) && strings.Contains(formats(err), token) {
				t.Fatalf("the error shows the token")
			}
			return
		}
		if fake.calls() != 1 {
			t.Fatalf("%d STS calls, want 1", fake.calls())
		}
		in := fake.input(0)
		if aws.ToString(in.RoleArn) != roleARN || aws.ToString(in.WebIdentityToken) != token || aws.ToString(in.Policy) != policy ||
			aws.ToString(in.ProviderId) != providerID || aws.ToInt32(in.MinimumSessionTokenSize) != tokenSize {
			t.Fatalf("the STS request does not carry the inputs")
		}
		if d := time.Duration(duration); (d == 0) != (in.DurationSeconds == nil) || (d != 0 && time.Duration(*in.DurationSeconds)*time.Second != d.Truncate(time.Second)) {
			t.Fatalf("DurationSeconds %v for Duration %s", in.DurationSeconds, d)
		}
		var gotARNs []string
		for _, a := range in.PolicyArns {
			gotARNs = append(gotARNs, aws.ToString(a.Arn))
		}
		if !slices.Equal(gotARNs, arns) {
			t.Fatalf("PolicyArns %q, want %q", gotARNs, arns)
		}
		name := aws.ToString(in.RoleSessionName)
		if session != "" && name != session {
			t.Fatalf("RoleSessionName %q, want %q", name, session)
		}
		if !sessionNameRE.MatchString(name) {
			t.Fatalf("RoleSessionName %q breaks STS's rule", name)
		}
		if session == "" && strings.Contains(name, "@") {
			t.Fatalf("default RoleSessionName %q may be personal data", name)
		}
	})
}

// sessionNameRE is STS's rule for RoleSessionName.
var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// checkValidationErrors asserts the properties of a refusal by New.
func checkValidationErrors(t *testing.T, err error, policy string, inputs []string) {
	t.Helper()
	leaves := leafErrors(err)
	if len(leaves) == 0 {
		t.Fatalf("New failed without a ValidationError: %v", err)
	}
	for _, e := range leaves {
		var ve *provider.ValidationError
		if !errors.As(e, &ve) {
			t.Fatalf("New failed with %T, not *ValidationError: %v", e, e)
		}
		if ve.Field == "" || ve.Rule == "" || !strings.HasPrefix(ve.Error(), "provider: invalid "+ve.Field) {
			t.Fatalf("ValidationError without field or rule: %q", ve.Error())
		}
		if !utf8.ValidString(ve.Value) && allValidUTF8(inputs) {
			t.Fatalf("Value %q cut a character in two", ve.Value)
		}
		if len(ve.Value) > 80+len("…(99999999999 bytes)") {
			t.Fatalf("Value of %d bytes is not shortened", len(ve.Value))
		}
		if strings.HasPrefix(ve.Field, "Options.Policy") && !strings.HasPrefix(ve.Field, "Options.PolicyARNs[") && ve.Value != "" {
			t.Fatalf("the policy is echoed in %q", ve.Error())
		}
		if looksLikeSecret(ve.Value) {
			t.Fatalf("a secret-looking value is echoed in %q", ve.Error())
		}
	}
	text := formats(err)
	for _, in := range inputs {
		if looksLikeSecret(in) && strings.Contains(text, secretPart(in)) {
			t.Fatalf("the error shows secret-looking input: %q", text)
		}
	}
	// The policy is never echoed, but the same text may be another input
	// that is (a policy ARN, say): inputs[2] is the policy itself.
	if len(policy) >= 24 && strings.Contains(text, policy) {
		others := slices.Concat(inputs[:2], inputs[3:])
		if !slices.ContainsFunc(others, func(s string) bool { return strings.Contains(s, policy) }) {
			t.Fatalf("the error shows the policy")
		}
	}
}

func allValidUTF8(ss []string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// leafErrors flattens errors.Join trees.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// The test's own idea of a secret, written independently of the
// provider's: a JWT, or 40+ base64 characters mixing upper and lower case
// and digits.
var (
	testJWTRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_.-]*`)
	testKeyRE = regexp.MustCompile(`[A-Za-z0-9+/=]{40,}`)
)

func looksLikeSecret(s string) bool { return secretPart(s) != "" }

// secretPart returns the secret-looking part of s, or "".
func secretPart(s string) string {
	if m := testJWTRE.FindString(s); m != "" {
		return m
	}
	for _, m := range testKeyRE.FindAllString(s, -1) {
		if strings.ContainsAny(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(m, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(m, "0123456789") {
			return m
		}
	}
	return ""
}

// validateSeeds are FuzzValidate's in-code seeds; testdata/fuzz/FuzzValidate
// holds more.
var validateSeeds = []struct {
	roleARN, session, policy, policyARNs, providerID string
	duration                                         int64
	attempts                                         int
	minBackoff, maxBackoff                           int64
	tokenSize                                        int32
	token                                            string
}{
	{roleARN: testRole, token: secretToken},
	{roleARN: testRole, session: "s1", policy: `{"Version":"2012-10-17"}`, policyARNs: "arn:aws:iam::aws:policy/ReadOnlyAccess\narn:aws:iam::123456789012:policy/Mine",
		providerID: "www.amazon.com", duration: int64(time.Hour), attempts: 3, minBackoff: int64(time.Second), maxBackoff: int64(time.Minute), tokenSize: 1024, token: secretToken},
	{roleARN: "arn:minio:iam:::role/dummy-internal", token: "opaque-access-token"},
	{roleARN: "arn:aws:iam::123456789012:role/" + secretToken, token: secretToken},
	{roleARN: testRole, session: secretToken, providerID: "https://" + secretToken, token: "x"},
	{roleARN: testRole, session: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY0", token: ""},
	{roleARN: "", session: "a", policy: "{\x01}", duration: -1, attempts: -1, minBackoff: -1, maxBackoff: 1, tokenSize: -5},
	{roleARN: "arn:aws:iam::12345678901:role/x", policy: strings.Repeat("é", 2049), policyARNs: "\n\n", token: "tok"},
}

// TestValidationHidesSecretLookingValues: a token or key put in the wrong
// field is refused without being echoed, and the message says why.
func TestValidationHidesSecretLookingValues(t *testing.T) {
	key := "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tests := []struct {
		name  string
		role  string
		opts  func(*provider.Options)
		field string
	}{
		{name: "JWT as role ARN", role: "arn:aws:iam::123456789012:role/" + secretToken, field: "roleARN"},
		{name: "JWT as session name", role: testRole, opts: func(o *provider.Options) { o.RoleSessionName = secretToken }, field: "Options.RoleSessionName"},
		// Shapes that the charset and length rules alone would accept.
		{name: "JWT in a generic ARN", role: "arn:s:m:::" + secretToken, field: "roleARN"},
		{name: "short JWT as session name", role: testRole, opts: func(o *provider.Options) { o.RoleSessionName = "eyJhbGciOiJub25lIn0.e30.x" }, field: "Options.RoleSessionName"},
		{name: "secret key as provider ID", role: testRole, opts: func(o *provider.Options) { o.ProviderID = key }, field: "Options.ProviderID"},
		{name: "secret key in a policy ARN", role: testRole, opts: func(o *provider.Options) {
			o.PolicyARNs = []string{"arn:aws:iam::123456789012:policy/" + strings.ReplaceAll(key, "/", "") + "99!"}
		}, field: "Options.PolicyARNs[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provider.New(newFake().client(), tt.role, newTokens(secretToken), tt.opts)
			var ve *provider.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("error %v, want a ValidationError of %s", err, tt.field)
			}
			text := formats(err)
			if ve.Value != "" || !strings.Contains(text, "value not shown") || strings.Contains(text, "S3CR3T") ||
				strings.Contains(text, "eyJ") || strings.Contains(text, "EXAMPLEKEY") {
				t.Fatalf("secret-looking value echoed or unexplained: %s", text)
			}
		})
	}
	// An ordinary bad value is still shown, to help fix it.
	_, err := provider.New(newFake().client(), "arn:aws:iam::123:role/x", newTokens(secretToken))
	if !strings.Contains(fmt.Sprint(err), `"arn:aws:iam::123:role/x"`) {
		t.Fatalf("ordinary value not shown: %v", err)
	}
}
