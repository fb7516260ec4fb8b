package awsoidc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// chainRoles adds a role in another account trusting the web identity role
// "app", and a third-account role trusting the second's account.
func chainRoles(srv *ststest.Server, appARN string) (mid, target string) {
	mid = srv.AddRole(ststest.Role{ARN: "arn:aws:iam::111122223333:role/mid", TrustedPrincipals: []string{appARN}, ExternalID: "partner-7", TagSession: true})
	target = srv.AddRole(ststest.Role{ARN: "arn:aws:iam::444455556666:role/target", TrustedPrincipals: []string{"111122223333"}, TagSession: true})
	return mid, target
}

// TestWithWebIdentityChain loads a configuration with two hops and no
// STSClient: the hops go through the lazily built client, each call signed
// with the previous step's credentials, and GetCallerIdentity reports the
// last hop. A second call is served by the caches.
func TestWithWebIdentityChain(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	mid, target := chainRoles(srv, roleARN)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		awsoidc.WithWebIdentity(roleARN, tokensource.File(tokenFile), func(o *awsoidc.Options) {
			o.Chain = []provider.Hop{
				{RoleARN: mid, ExternalID: "partner-7", Tags: map[string]string{"team": "blue"}, TransitiveTagKeys: []string{"team"}},
				{RoleARN: target, RoleSessionName: "deploy", Duration: 30 * time.Minute},
			}
		}),
		config.WithRegion(ststest.DefaultRegion),
	)
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v", err)
	}
	if got, want := callerARN(t, cfg), "arn:aws:sts::444455556666:assumed-role/target/deploy"; got != want {
		t.Fatalf("caller = %q, want %q", got, want)
	}
	callerARN(t, cfg)
	if a, w := srv.Calls(ststest.ActionAssumeRole), srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); a != 2 || w != 1 {
		t.Fatalf("AssumeRole calls = %d, AssumeRoleWithWebIdentity calls = %d; want 2 and 1", a, w)
	}
	if s := srv.Sessions(); len(s) != 3 || s[2].Duration != 30*time.Minute {
		t.Fatalf("sessions = %+v", s)
	}
}

// TestWithIRSAChainValidation: a bad hop fails LoadDefaultConfig before any
// call, naming the hop's index, its role and the field.
func TestWithIRSAChainValidation(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	t.Setenv("AWS_ROLE_ARN", roleARN)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	mid, target := chainRoles(srv, roleARN)
	_, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithIRSA(func(o *awsoidc.Options) {
		o.Chain = []provider.Hop{{RoleARN: mid}, {RoleARN: target, Duration: 2 * time.Hour}}
	}))
	var ve *provider.ValidationError
	if !errors.As(err, &ve) || ve.Field != "Chain[1].Duration" {
		t.Fatalf("LoadDefaultConfig() = %v, want a ValidationError for Chain[1].Duration", err)
	}
	for _, want := range []string{target, "one hour", "role-chained"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n := srv.Calls(ststest.ActionAssumeRole) + srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("%d calls to STS, want none", n)
	}
}

// TestWithWebIdentityChainStore: two configurations sharing a store (two
// processes) make one call per step between them; a chain from another
// identity (another subject's token) never loads their hop credentials.
func TestWithWebIdentityChainStore(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	mid, _ := chainRoles(srv, roleARN)
	store, err := cache.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	load := func(src tokensource.Source) string {
		t.Helper()
		cfg, err := config.LoadDefaultConfig(context.Background(),
			awsoidc.WithWebIdentity(roleARN, src, func(o *awsoidc.Options) {
				o.Cache = append(o.Cache, func(co *cache.Options) { co.Store = store })
				o.Chain = []provider.Hop{{RoleARN: mid, ExternalID: "partner-7"}}
			}),
			config.WithRegion(ststest.DefaultRegion))
		if err != nil {
			t.Fatal(err)
		}
		return callerARN(t, cfg)
	}
	first, second := load(tokensource.File(tokenFile)), load(tokensource.File(tokenFile))
	if first != second || !strings.Contains(first, ":assumed-role/mid/") {
		t.Fatalf("callers %q and %q", first, second)
	}
	if n := srv.Calls(ststest.ActionAssumeRole); n != 1 {
		t.Fatalf("AssumeRole calls = %d, want 1: the second process loads the hop from the store", n)
	}
	// Another subject that the role also trusts: its own web identity
	// session and its own hop, never the first subject's.
	other := srv.AddRole(ststest.Role{Name: "app"}) // trusts any subject now
	if other != roleARN {
		t.Fatalf("role ARN changed: %s", other)
	}
	load(tokensource.Static(srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:other:ns"})))
	if a, w := srv.Calls(ststest.ActionAssumeRole), srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); a != 2 || w != 2 {
		t.Fatalf("after another identity: AssumeRole calls = %d, AssumeRoleWithWebIdentity calls = %d; want 2 and 2", a, w)
	}
}

// TestChainValidationInheritedTag: a hop that passes a session tag whose
// key an earlier hop made transitive (case aside) fails LoadDefaultConfig
// before any call, naming the hop, the tag and the hop that made it
// transitive, instead of an InvalidParameterValue from STS at the first
// refresh.
func TestChainValidationInheritedTag(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	mid, target := chainRoles(srv, roleARN)
	_, err := config.LoadDefaultConfig(context.Background(),
		awsoidc.WithWebIdentity(roleARN, tokensource.File(tokenFile), func(o *awsoidc.Options) {
			o.Chain = []provider.Hop{
				{RoleARN: mid, ExternalID: "partner-7", Tags: map[string]string{"Team": "blue"}, TransitiveTagKeys: []string{"Team"}},
				{RoleARN: target, Tags: map[string]string{"team": "red"}},
			}
		}),
		config.WithRegion(ststest.DefaultRegion),
	)
	var ve *provider.ValidationError
	if !errors.As(err, &ve) || ve.Field != `Chain[1].Tags["team"]` {
		t.Fatalf("LoadDefaultConfig() = %v, want a ValidationError for Chain[1].Tags[\"team\"]", err)
	}
	if !strings.Contains(ve.Rule, "Chain[0] made this key transitive") {
		t.Errorf("rule %q does not name the hop that made the key transitive", ve.Rule)
	}
	if n := srv.Calls(ststest.ActionAssumeRole) + srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 0 {
		t.Errorf("%d calls to STS, want none", n)
	}
}
