package awsoidc_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc/ststest"
)

// trusting adds a role that sessions of the roles named principals may
// assume, with externalID as its sts:ExternalId condition when set, and
// returns its ARN.
func (f *fixture) trusting(name, externalID string, principals ...string) string {
	var arns []string
	for _, p := range principals {
		arns = append(arns, roleARN(p))
	}
	return f.srv.AddRole(ststest.Role{Name: name, TrustedPrincipals: arns, ExternalID: externalID})
}

func roleARN(name string) string {
	return "arn:aws:iam::" + ststest.DefaultAccountID + ":role/" + name
}

// webIdentityProfile is a [profile ci] that assumes role ci with the
// fixture's token.
func (f *fixture) webIdentityProfile() string {
	return fmt.Sprintf("[profile ci]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = ci\n\n", f.role("ci"), f.tokenFile)
}

// chainRows are the rows of TestDefaultCredentialsResolveLikeSDK whose
// profiles assume roles on top of another source (ststest's AssumeRole,
// signed with the credentials of the leg below).
func chainRows() []resolutionRow {
	return []resolutionRow{
		{
			name: "role_arn with source_profile on a web identity profile (2 hops)",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", f.webIdentityProfile()+
					fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = ci\nrole_session_name = admin\n", f.trusting("admin", "", "ci")))
				f.t.Setenv("AWS_PROFILE", "admin")
				return nil
			},
			kind: "assume role", caller: assumed("admin", "admin"),
		},
		{
			name: "three hops, the last with external_id and duration_seconds",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", f.webIdentityProfile()+
					fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = ci\nrole_session_name = admin\n\n", f.trusting("admin", "", "ci"))+
					fmt.Sprintf("[profile deploy]\nrole_arn = %s\nsource_profile = admin\nrole_session_name = deploy\nexternal_id = tenant-42\nduration_seconds = 1800\n", f.trusting("deploy", "tenant-42", "admin")))
				return []func(*config.LoadOptions) error{config.WithSharedConfigProfile("deploy")}
			},
			kind: "assume role", caller: assumed("deploy", "deploy"),
		},
		{
			name: "a wrong external_id fails in both",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", f.webIdentityProfile()+
					fmt.Sprintf("[profile deploy]\nrole_arn = %s\nsource_profile = ci\nrole_session_name = deploy\nexternal_id = wrong\n", f.trusting("deploy", "tenant-42", "ci")))
				f.t.Setenv("AWS_PROFILE", "deploy")
				return nil
			},
			errors: "AccessDenied",
		},
		{
			name: "duration_seconds over an hour: the SDK's AssumeRole, refused as chained by STS in both",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", f.webIdentityProfile()+
					fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = ci\nrole_session_name = admin\nduration_seconds = 7200\n", f.trusting("admin", "", "ci")))
				f.t.Setenv("AWS_PROFILE", "admin")
				return nil
			},
			errors: "ValidationError",
		},
		{
			name: "mfa_serial without a token provider",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", f.webIdentityProfile()+
					fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = ci\nrole_session_name = admin\nmfa_serial = arn:aws:iam::123456789012:mfa/dev\n", f.trusting("admin", "", "ci")))
				f.t.Setenv("AWS_PROFILE", "admin")
				return nil
			},
			errors: "AssumeRoleTokenProviderNotSetError",
		},
		{
			name: "role_arn with source_profile on profile keys",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				c := f.issue("from-file", "file")
				f.write("credentials", fmt.Sprintf("[base]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n", c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
				f.write("config", fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = base\nrole_session_name = admin\n", f.trusting("admin", "", "from-file")))
				f.t.Setenv("AWS_PROFILE", "admin")
				return nil
			},
			kind: "assume role", caller: assumed("admin", "admin"),
		},
		{
			name: "credential_source Environment",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.setEnvKeys(f.issue("from-env", "env"))
				f.write("config", fmt.Sprintf("[profile ops]\nrole_arn = %s\ncredential_source = Environment\nrole_session_name = ops\n", f.trusting("ops", "", "from-env")))
				return []func(*config.LoadOptions) error{config.WithSharedConfigProfile("ops")}
			},
			kind: "assume role", caller: assumed("ops", "ops"),
		},
		{
			name: "credential_source EcsContainer",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.container(f.issue("from-container", "container"), "container-token")
				f.write("config", fmt.Sprintf("[profile ops]\nrole_arn = %s\ncredential_source = EcsContainer\nrole_session_name = ops\n", f.trusting("ops", "", "from-container")))
				f.t.Setenv("AWS_PROFILE", "ops")
				return nil
			},
			kind: "assume role", caller: assumed("ops", "ops"),
		},
		{
			name: "credential_source Ec2InstanceMetadata",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.imds(f.issue("from-imds", "imds"))
				f.write("config", fmt.Sprintf("[profile ops]\nrole_arn = %s\ncredential_source = Ec2InstanceMetadata\nrole_session_name = ops\n", f.trusting("ops", "", "from-imds")))
				f.t.Setenv("AWS_PROFILE", "ops")
				return nil
			},
			kind: "assume role", caller: assumed("ops", "ops"),
		},
	}
}
