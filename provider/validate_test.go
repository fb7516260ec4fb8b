package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/tokensource"
)

func TestNewRejectsBadInput(t *testing.T) {
	longPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + strings.Repeat("a", 2048) + `"}]}`
	smallPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	arn := func(i int) string {
		return "arn:aws:iam::123456789012:policy/" + strings.Repeat("p", 190) + "/N" + string("abcdefghijklmnopqrstuvwxyz"[i%26])
	}
	var elevenARNs []string
	for i := 0; i < 11; i++ {
		elevenARNs = append(elevenARNs, "arn:aws:iam::aws:policy/Policy"+string(rune('A'+i)))
	}

	tests := []struct {
		name    string
		roleARN string
		opt     func(*provider.Options)
		field   string
		rule    string
	}{
		{"empty role", "", nil, "roleARN", "must not be empty"},
		{"not an ARN", "role/test-role-not-an-arn", nil, "roleARN", "must be an ARN"},
		{"too short", "arn:aws:iam::1:r", nil, "roleARN", "20 to 2048"},
		{"whitespace", "arn:aws:iam::123456789012:role/a b", nil, "roleARN", "whitespace"},
		{"wrong service", "arn:aws:sts::123456789012:role/x", nil, "roleARN", "arn:aws:iam::<12-digit account>:role/"},
		{"region set", "arn:aws:iam:us-east-1:123456789012:role/x", nil, "roleARN", "arn:aws:iam::"},
		{"short account", "arn:aws:iam::12345678901:role/x", nil, "roleARN", "12-digit"},
		{"user not role", "arn:aws:iam::123456789012:user/alice", nil, "roleARN", ":role/"},
		{"china user", "arn:aws-cn:iam::123456789012:user/alice", nil, "roleARN", "arn:aws-cn:iam::"},
		{"empty role name", "arn:aws:iam::123456789012:role/path/", nil, "roleARN", "name must not be empty"},
		{"bad role name", "arn:aws:iam::123456789012:role/na!me", nil, "roleARN", "name may contain only"},
		{"long role name", "arn:aws:iam::123456789012:role/" + strings.Repeat("r", 65), nil, "roleARN", "at most 64"},
		{"generic no resource", "arn:minio:iam:region:account:", nil, "roleARN", "must be an ARN"},
		{"generic no service", "arn:minio::::role/abcdefgh", nil, "roleARN", "must be an ARN"},
		{"session name short", testRole, func(o *provider.Options) { o.RoleSessionName = "a" }, "Options.RoleSessionName", "2 to 64"},
		{"session name long", testRole, func(o *provider.Options) { o.RoleSessionName = strings.Repeat("a", 65) }, "Options.RoleSessionName", "2 to 64"},
		{"session name charset", testRole, func(o *provider.Options) { o.RoleSessionName = "system:serviceaccount" }, "Options.RoleSessionName", "may contain only"},
		{"duration short", testRole, func(o *provider.Options) { o.Duration = 899 * time.Second }, "Options.Duration", "between 15m0s and 12h0m0s"},
		{"duration long", testRole, func(o *provider.Options) { o.Duration = 12*time.Hour + time.Second }, "Options.Duration", "between"},
		{"duration negative", testRole, func(o *provider.Options) { o.Duration = -time.Hour }, "Options.Duration", "0 (the STS default)"},
		{"policy long", testRole, func(o *provider.Options) { o.Policy = longPolicy }, "Options.Policy", "at most 2048 characters"},
		{"policy charset", testRole, func(o *provider.Options) { o.Policy = `{"a":"` + "\u0100" + `"}` }, "Options.Policy", "U+0100"},
		{"policy control", testRole, func(o *provider.Options) { o.Policy = "{\"a\":\"\x01\"}" }, "Options.Policy", "U+0001"},
		{"policy not JSON", testRole, func(o *provider.Options) { o.Policy = "Allow everything" }, "Options.Policy", "JSON"},
		{"policy bad UTF-8", testRole, func(o *provider.Options) { o.Policy = "{\"a\":\"\xff\"}" }, "Options.Policy", "UTF-8"},
		{"too many ARNs", testRole, func(o *provider.Options) { o.PolicyARNs = elevenARNs }, "Options.PolicyARNs", "at most 10"},
		{"empty ARN", testRole, func(o *provider.Options) { o.PolicyARNs = []string{""} }, "Options.PolicyARNs[0]", "must not be empty"},
		{"bad ARN", testRole, func(o *provider.Options) { o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ok", "ReadOnlyAccess"} }, "Options.PolicyARNs[1]", "20 to 2048"},
		{"role as policy ARN", testRole, func(o *provider.Options) { o.PolicyARNs = []string{testRole} }, "Options.PolicyARNs[0]", ":policy/"},
		{"shared budget", testRole, func(o *provider.Options) {
			o.Policy = smallPolicy
			for i := 0; i < 10; i++ {
				o.PolicyARNs = append(o.PolicyARNs, arn(i))
			}
		}, "Options.Policy+Options.PolicyARNs", "plaintext budget of 2048"},
		{"provider scheme", testRole, func(o *provider.Options) { o.ProviderID = "https://www.amazon.com" }, "Options.ProviderID", "without a scheme"},
		{"provider port", testRole, func(o *provider.Options) { o.ProviderID = "www.amazon.com:443" }, "Options.ProviderID", "without a port"},
		{"provider path", testRole, func(o *provider.Options) { o.ProviderID = "www.amazon.com/oauth" }, "Options.ProviderID", "without a path"},
		{"provider short", testRole, func(o *provider.Options) { o.ProviderID = "a.b" }, "Options.ProviderID", "4 to 2048"},
		{"provider label", testRole, func(o *provider.Options) { o.ProviderID = "www..amazon.com" }, "Options.ProviderID", "host name"},
		{"provider user", testRole, func(o *provider.Options) { o.ProviderID = "me@amazon.com" }, "Options.ProviderID", "host name"},
		{"minimum token size negative", testRole, func(o *provider.Options) { o.MinimumSessionTokenSize = -1 }, "Options.MinimumSessionTokenSize", "0 (unchanged) to 4096"},
		{"minimum token size large", testRole, func(o *provider.Options) { o.MinimumSessionTokenSize = 4097 }, "Options.MinimumSessionTokenSize", "4096 bytes"},
		{"max attempts negative", testRole, func(o *provider.Options) { o.MaxAttempts = -1 }, "Options.MaxAttempts", "1 to 10"},
		{"max attempts large", testRole, func(o *provider.Options) { o.MaxAttempts = 11 }, "Options.MaxAttempts", "1 to 10"},
		{"min backoff negative", testRole, func(o *provider.Options) { o.MinBackoff = -time.Second }, "Options.MinBackoff", "up to 5m0s"},
		// The default MaxBackoff follows MinBackoff: the error names the field that was set.
		{"min backoff huge", testRole, func(o *provider.Options) { o.MinBackoff = 10 * time.Minute }, "Options.MinBackoff", "up to 5m0s"},
		{"max backoff huge", testRole, func(o *provider.Options) { o.MaxBackoff = time.Hour }, "Options.MaxBackoff", "up to 5m0s"},
		{"max below min", testRole, func(o *provider.Options) { o.MinBackoff, o.MaxBackoff = 2*time.Second, time.Second }, "Options.MaxBackoff", "less than Options.MinBackoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			src := newTokens(secretToken)
			p, err := provider.New(fake.client(), tt.roleARN, src, tt.opt)
			if err == nil {
				t.Fatalf("New() = %v, want an error", p)
			}
			var ve *provider.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("New() error %v is not a *ValidationError", err)
			}
			if ve.Field != tt.field || !strings.Contains(ve.Rule, tt.rule) {
				t.Errorf("New() error field %q rule %q, want field %q rule containing %q", ve.Field, ve.Rule, tt.field, tt.rule)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "provider: invalid "+tt.field) {
				t.Errorf("Error() = %q, want prefix %q", msg, "provider: invalid "+tt.field)
			}
			if fake.calls() != 0 || src.calls() != 0 {
				t.Errorf("STS calls = %d, token fetches = %d, want 0 and 0", fake.calls(), src.calls())
			}
			if provider.IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = true, want false", err)
			}
		})
	}
}

func TestNewRejectsNilDependencies(t *testing.T) {
	var nilFunc provider.STSClientFunc
	var nilSource tokensource.Func
	_, err := provider.New(nilFunc, testRole, nilSource)
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ve *provider.ValidationError
		if !errors.As(e, &ve) {
			t.Fatalf("joined error %v is not a *ValidationError", e)
		}
		fields = append(fields, ve.Field)
	}
	if strings.Join(fields, ",") != "client,src" {
		t.Fatalf("fields = %v, want client,src (error: %v)", fields, err)
	}
	if _, err := provider.New(nil, testRole, nil); err == nil {
		t.Fatal("New(nil, role, nil) = nil error")
	}
}

func TestNewReportsEveryBadField(t *testing.T) {
	_, err := provider.New(newFake().client(), "arn:aws:iam::1234:role/x", newTokens(secretToken), func(o *provider.Options) {
		o.RoleSessionName = "x"
		o.Duration = time.Minute
	})
	msg := err.Error()
	for _, want := range []string{"provider: invalid roleARN", "provider: invalid Options.RoleSessionName", "provider: invalid Options.Duration"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestNewAcceptsValidInput(t *testing.T) {
	roles := []string{
		"arn:aws:iam::123456789012:role/r",
		"arn:aws:iam::123456789012:role/path/to/Role+Name=,.@-_",
		"arn:aws-cn:iam::123456789012:role/r1",
		"arn:aws-us-gov:iam::123456789012:role/r1",
		"arn:aws-iso:iam::123456789012:role/r1",
		"arn:aws-iso-b:iam::123456789012:role/r1",
		"arn:aws-iso-e:iam::123456789012:role/r1",
		"arn:aws-iso-f:iam::123456789012:role/r1",
		"arn:aws-eusc:iam::123456789012:role/r1",
		"arn:minio:iam:::role/dummy-internal",
		"arn:minio:iam:::role/idmp-x6DZG8uVmAPxNHnFHV2yW",
		"arn:xyz:sts:region-1:acct:assumable/thing",
	}
	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			if _, err := provider.New(newFake().client(), role, newTokens(secretToken)); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("every option at its limit", func(t *testing.T) {
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Sid":"` + strings.Repeat("é", 100) + `"}]}` + "\t\r\n"
		_, err := provider.New(newFake().client(), testRole, newTokens(secretToken), func(o *provider.Options) {
			o.RoleSessionName = strings.Repeat("a", 64)
			o.Duration = 12 * time.Hour
			o.Policy = policy
			o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/team/Mine"}
			o.ProviderID = "graph.facebook.com"
			o.MaxAttempts = provider.MaxMaxAttempts
			o.MaxBackoff = provider.MaxBackoffLimit
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("minimum duration and budget exactly full", func(t *testing.T) {
		a := "arn:aws:iam::aws:policy/ReadOnlyAccess"
		policy := `{"a":"` + strings.Repeat("x", provider.MaxPolicyLen-len(a)-8) + `"}`
		_, err := provider.New(newFake().client(), testRole, newTokens(secretToken), func(o *provider.Options) {
			o.Duration = provider.MinDuration
			o.Policy = policy
			o.PolicyARNs = []string{a}
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewFillsRetryDefaults(t *testing.T) {
	p, err := provider.New(newFake().client(), testRole, newTokens(secretToken))
	if err != nil {
		t.Fatal(err)
	}
	o := provider.OptionsOf(p)
	if o.MaxAttempts != provider.DefaultMaxAttempts || o.MinBackoff != provider.DefaultMinBackoff || o.MaxBackoff != provider.DefaultMaxBackoff {
		t.Fatalf("defaults = %d %s %s", o.MaxAttempts, o.MinBackoff, o.MaxBackoff)
	}
	p, err = provider.New(newFake().client(), testRole, newTokens(secretToken), func(o *provider.Options) { o.MinBackoff = 10 * time.Second })
	if err != nil {
		t.Fatal(err)
	}
	if o := provider.OptionsOf(p); o.MaxBackoff != 10*time.Second {
		t.Fatalf("MaxBackoff with MinBackoff 10s = %s, want 10s", o.MaxBackoff)
	}
}

func TestRetrieveRejectsBadTokenWithoutCalling(t *testing.T) {
	for _, tok := range []string{"", "abc", strings.Repeat("a", 20001)} {
		fake := newFake()
		p, err := provider.New(fake.client(), testRole, newTokens(tok))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Retrieve(context.Background())
		re := mustRetrieveError(t, err)
		var ve *provider.ValidationError
		if re.Class != provider.ClassInvalidInput || !errors.As(err, &ve) || ve.Field != "WebIdentityToken" {
			t.Errorf("token of %d bytes: error %v, class %s", len(tok), err, re.Class)
		}
		if fake.calls() != 0 {
			t.Errorf("token of %d bytes: %d STS calls, want 0", len(tok), fake.calls())
		}
		if tok != "" && strings.Contains(err.Error(), tok) {
			t.Errorf("error %q shows the token", err)
		}
	}
}

// TestPolicyMustBeObject: the inline policy must be a JSON object. Other
// JSON values (null, a number, an array, a string, a boolean) are valid JSON
// but no policy document, and STS would answer MalformedPolicyDocument after
// a round trip; they are refused before any call, naming the field and the
// rule, never echoing the policy. An empty object is a JSON object: whether
// it is a useful policy is for STS to say.
func TestPolicyMustBeObject(t *testing.T) {
	const doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	tests := []struct {
		policy   string
		wantKind string // "" when accepted
	}{
		{"null", "null"},
		{"42", "a number"},
		{"-1.5e3", "a number"},
		{"[]", "an array"},
		{`[` + doc + `]`, "an array"},
		{`"string"`, "a string"},
		{"true", "a boolean"},
		{" \t\r\nnull\n", "null"},
		{"{}", ""},
		{" {}\n", ""},
		{doc, ""},
		{"\n" + doc + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			fake := newFake()
			src := newTokens(secretToken)
			_, err := provider.New(fake.client(), testRole, src, func(o *provider.Options) { o.Policy = tt.policy })
			if tt.wantKind == "" {
				if err != nil {
					t.Fatalf("New() error = %v, want the policy accepted", err)
				}
				return
			}
			var ve *provider.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("New() error = %v, want a *ValidationError", err)
			}
			if ve.Field != "Options.Policy" || !strings.Contains(ve.Rule, "must be a JSON object") || !strings.Contains(ve.Rule, "not "+tt.wantKind) {
				t.Errorf("field %q rule %q, want Options.Policy, must be a JSON object, not %s", ve.Field, ve.Rule, tt.wantKind)
			}
			if ve.Value != "" || (len(tt.policy) > 8 && strings.Contains(err.Error(), tt.policy)) {
				t.Errorf("error %q echoes the policy", err)
			}
			if fake.calls() != 0 || src.calls() != 0 {
				t.Errorf("STS calls = %d, token fetches = %d, want 0 and 0", fake.calls(), src.calls())
			}
		})
	}
}

// A role ARN of an AWS partition without an account, as Ceph RGW names
// roles, is accepted only when the client sends to an endpoint outside
// AWS; with AWS's endpoints, New refuses it and says why.
func TestNewAccountlessRoleARN(t *testing.T) {
	client := func(endpoint string) provider.STSClient {
		return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint)})
	}
	accepted := map[string]provider.STSClient{
		"Ceph RGW":                client("http://rgw.example.internal:8000"),
		"loopback":                client("http://127.0.0.1:7480"),
		"lookalike amazonaws.com": client("https://sts.amazonaws.com.example.org"),
		"lookalike suffix":        client("https://notamazonaws.com"),
		"https with a path":       client("https://s3.example.org/sts"),
		"IPv6 literal":            client("http://[::1]:7480"),
	}
	for name, c := range accepted {
		t.Run("accepted/"+name, func(t *testing.T) {
			for _, arn := range []string{"arn:aws:iam:::role/x", "arn:aws:iam:::role/path/app-role"} {
				if _, err := provider.New(c, arn, newTokens(secretToken)); err != nil {
					t.Errorf("New(%s) = %v", arn, err)
				}
			}
		})
	}
	refused := map[string]provider.STSClient{
		"no endpoint":               sts.New(sts.Options{Region: "us-east-1"}),
		"global":                    client("https://sts.amazonaws.com"),
		"regional":                  client("https://sts.eu-west-1.amazonaws.com"),
		"upper case, dot":           client("https://STS.US-EAST-1.AMAZONAWS.COM./"),
		"China":                     client("https://sts.cn-north-1.amazonaws.com.cn"),
		"dual-stack":                client("https://sts.us-east-1.api.aws"),
		"China dual-stack":          client("https://sts.cn-northwest-1.api.amazonwebservices.com.cn"),
		"FIPS":                      client("https://sts-fips.us-gov-west-1.amazonaws.com"),
		"VPC endpoint":              client("https://vpce-0abc-1234.sts.us-east-1.vpce.amazonaws.com"),
		"not a URL":                 client("::not a url"),
		"a client that cannot tell": newFake().client(),
	}
	for name, c := range refused {
		t.Run("refused/"+name, func(t *testing.T) {
			_, err := provider.New(c, "arn:aws:iam:::role/x", newTokens(secretToken))
			var ve *provider.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("New() = %v, want a *ValidationError", err)
			}
			if ve.Field != "roleARN" || !strings.Contains(ve.Rule, "without an account") || !strings.Contains(ve.Rule, "endpoint outside AWS") {
				t.Errorf("error = %v, want roleARN and why an account-less ARN is refused", err)
			}
		})
	}
	// The other rules still hold for an account-less ARN.
	for arn, rule := range map[string]string{
		"arn:aws:iam:::user/x":         ":role/",
		"arn:aws:iam::12345:role/x":    "12-digit",
		"arn:aws:iam:::role/bad name!": "whitespace",
		"arn:aws:iam:::role/a*b":       "letters, digits",
	} {
		_, err := provider.New(accepted["Ceph RGW"], arn, newTokens(secretToken))
		if err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("New(%s) = %v, want the rule %q", arn, err, rule)
		}
	}
}
