package awsoidc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
)

// envWebIdentity sets AWS_ROLE_ARN (role ci), AWS_WEB_IDENTITY_TOKEN_FILE
// and AWS_ROLE_SESSION_NAME (ci), as EKS does in a pod.
func (f *fixture) envWebIdentity() {
	f.t.Setenv("AWS_ROLE_ARN", f.role("ci"))
	f.t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", f.tokenFile)
	f.t.Setenv("AWS_ROLE_SESSION_NAME", "ci")
}

// TestDefaultCredentialsOptionsChain: the hops of Options.Chain are
// assumed on top of whatever source resolves (here web identity from the
// environment, then a profile's role chain), as with WithWebIdentity; the
// configuration gets the last hop's identity, never the base's.
func TestDefaultCredentialsOptionsChain(t *testing.T) {
	t.Run("on environment web identity", func(t *testing.T) {
		f := newFixture(t)
		f.envWebIdentity()
		admin := f.trusting("admin", "", "ci")
		deploy := f.trusting("deploy", "tenant-42", "admin")
		got := resolve(awsoidc.WithDefaultCredentials(func(o *awsoidc.Options) {
			o.Chain = []provider.Hop{
				{RoleARN: admin, RoleSessionName: "admin"},
				{RoleARN: deploy, RoleSessionName: "deploy", ExternalID: "tenant-42"},
			}
		}))
		if got.err != nil || got.caller != assumed("deploy", "deploy") || got.kind != "assume role" {
			t.Fatalf("resolved to %+v; want the last hop, %s", got, assumed("deploy", "deploy"))
		}
	})
	t.Run("on a profile's role chain", func(t *testing.T) {
		f := newFixture(t)
		f.write("config", f.webIdentityProfile()+
			"[profile admin]\nrole_arn = "+f.trusting("admin", "", "ci")+"\nsource_profile = ci\nrole_session_name = admin\n")
		t.Setenv("AWS_PROFILE", "admin")
		audit := f.trusting("audit", "", "admin")
		got := resolve(awsoidc.WithDefaultCredentials(func(o *awsoidc.Options) {
			o.Chain = []provider.Hop{{RoleARN: audit, RoleSessionName: "audit"}}
		}))
		if got.err != nil || got.caller != assumed("audit", "audit") {
			t.Fatalf("resolved to %+v; want %s", got, assumed("audit", "audit"))
		}
	})
}

// TestDefaultCredentialsOptionsChainValidatedAtLoad: a bad hop of
// Options.Chain fails LoadDefaultConfig with a ValidationError naming
// Chain[i] and the field, as in WithWebIdentity, before any call.
func TestDefaultCredentialsOptionsChainValidatedAtLoad(t *testing.T) {
	f := newFixture(t)
	f.envWebIdentity()
	_, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials(func(o *awsoidc.Options) {
		o.Chain = []provider.Hop{{RoleARN: f.trusting("admin", "", "ci")}, {RoleARN: "arn:aws:iam::12:role/deploy"}}
	}))
	var ve *provider.ValidationError
	if !errors.As(err, &ve) || ve.Field != "Chain[1].RoleARN" {
		t.Fatalf("LoadDefaultConfig error = %v; want a ValidationError of Chain[1].RoleARN", err)
	}
	for _, action := range []ststest.Action{ststest.ActionAssumeRole, ststest.ActionAssumeRoleWithWebIdentity} {
		if n := f.srv.Calls(action); n != 0 {
			t.Errorf("%s calls = %d; want none", action, n)
		}
	}
}

// TestDefaultCredentialsWebIdentityRoleOptions: the SDK applies
// config.WithWebIdentityRoleCredentialOptions to its web identity
// provider (a session name, say); the web identity legs apply it too,
// from the environment and from a profile.
func TestDefaultCredentialsWebIdentityRoleOptions(t *testing.T) {
	session := config.WithWebIdentityRoleCredentialOptions(func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = "from-code"
	})
	for name, setup := range map[string]func(*fixture){
		"environment": (*fixture).envWebIdentity,
		"profile": func(f *fixture) {
			f.write("config", f.webIdentityProfile())
			f.t.Setenv("AWS_PROFILE", "ci")
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			setup(f)
			sdk := resolve(session)
			ours := resolve(session, awsoidc.WithDefaultCredentials())
			if sdk.err != nil || sdk.caller != assumed("ci", "from-code") {
				t.Fatalf("the SDK resolved to %+v; want %s", sdk, assumed("ci", "from-code"))
			}
			if ours.err != nil || ours.caller != sdk.caller {
				t.Fatalf("ours resolved to %+v; the SDK to %s", ours, sdk.caller)
			}
		})
	}
}

// TestDefaultCredentialsWebIdentityRoleOptionsUnsupported: what the
// SDK's web identity options set that an awsoidc leg cannot honour (a
// token retriever of its own) is refused by name, never ignored.
func TestDefaultCredentialsWebIdentityRoleOptionsUnsupported(t *testing.T) {
	f := newFixture(t)
	f.envWebIdentity()
	got := resolve(awsoidc.WithDefaultCredentials(), config.WithWebIdentityRoleCredentialOptions(func(o *stscreds.WebIdentityRoleOptions) {
		o.TokenRetriever = stscreds.IdentityTokenFile(f.tokenFile)
	}))
	if got.err == nil || !strings.Contains(got.err.Error(), "TokenRetriever") {
		t.Fatalf("resolved to %+v; want an error naming TokenRetriever", got)
	}
}
