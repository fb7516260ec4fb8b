package awsoidc_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/ststest"
)

// resolutionRow is one machine of TestDefaultCredentialsResolveLikeSDK:
// setup writes its files and environment and returns the options given
// to LoadDefaultConfig besides ours.
type resolutionRow struct {
	name   string
	setup  func(f *fixture) []func(*config.LoadOptions) error
	kind   string // the kind of source both resolve to
	caller string // the identity both resolve to
	errors string // when set, both fail with this class of error instead
}

// resolutionRows are the sources and precedence of
// config.LoadDefaultConfig, one row each, and rows where several sources
// are present.
func resolutionRows() []resolutionRow {
	return []resolutionRow{
		{
			name: "environment keys beat environment web identity and the default profile",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.setEnvKeys(f.issue("from-env", "env"))
				f.t.Setenv("AWS_ROLE_ARN", f.role("app"))
				f.t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", f.tokenFile)
				f.write("config", "[default]\ncredential_process = "+f.process(f.issue("from-process", "process"))+"\n")
				return nil
			},
			kind: "static", caller: assumed("from-env", "env"),
		},
		{
			name: "environment keys beat AWS_PROFILE (only a profile chosen in code beats them)",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.setEnvKeys(f.issue("from-env", "env"))
				f.write("config", fmt.Sprintf("[profile ci]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = ci\n", f.role("ci"), f.tokenFile))
				f.t.Setenv("AWS_PROFILE", "ci")
				return nil
			},
			kind: "static", caller: assumed("from-env", "env"),
		},
		{
			name: "environment web identity beats the default profile",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.t.Setenv("AWS_ROLE_ARN", f.role("app"))
				f.t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", f.tokenFile)
				f.t.Setenv("AWS_ROLE_SESSION_NAME", "pod")
				f.write("config", "[default]\ncredential_process = "+f.process(f.issue("from-process", "process"))+"\n")
				return nil
			},
			kind: "web identity", caller: assumed("app", "pod"),
		},
		{
			name: "profile web identity through AWS_PROFILE",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", fmt.Sprintf("[profile ci]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = ci\nduration_seconds = 3600\n", f.role("ci"), f.tokenFile))
				f.t.Setenv("AWS_PROFILE", "ci")
				return nil
			},
			kind: "web identity", caller: assumed("ci", "ci"),
		},
		{
			name: "a profile chosen in code beats environment keys",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.setEnvKeys(f.issue("from-env", "env"))
				f.write("config", fmt.Sprintf("[profile ci]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = ci\n", f.role("ci"), f.tokenFile))
				return []func(*config.LoadOptions) error{config.WithSharedConfigProfile("ci")}
			},
			kind: "web identity", caller: assumed("ci", "ci"),
		},
		{
			name: "profile keys in the credentials file",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				c := f.issue("from-file", "file")
				f.write("credentials", fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n", c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
				return nil
			},
			kind: "static", caller: assumed("from-file", "file"),
		},
		{
			name: "credential_process beats the container endpoint",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", "[default]\ncredential_process = "+f.process(f.issue("from-process", "process"))+"\n")
				f.container(f.issue("from-container", "container"), "container-token")
				return nil
			},
			kind: "process", caller: assumed("from-process", "process"),
		},
		{
			name: "container endpoint beats instance metadata",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.container(f.issue("from-container", "container"), "container-token")
				f.imds(f.issue("from-imds", "imds"))
				return nil
			},
			kind: "container", caller: assumed("from-container", "container"),
		},
		{
			name: "instance metadata last",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.imds(f.issue("from-imds", "imds"))
				return nil
			},
			kind: "imds", caller: assumed("from-imds", "imds"),
		},
		{
			name: "legacy SSO profile with a cached token",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				const start = "https://example.awsapps.com/start"
				f.ssoPortal(f.issue("from-sso", "sso"), "123456789012", "Developer", "sso-access-token", start)
				f.write("config", "[profile dev]\nsso_start_url = "+start+"\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Developer\n")
				f.t.Setenv("AWS_PROFILE", "dev")
				return nil
			},
			kind: "sso", caller: assumed("from-sso", "sso"),
		},
		{
			name: "sso-session profile with a cached token",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.ssoPortal(f.issue("from-sso", "sso"), "123456789012", "Developer", "sso-access-token", "corp")
				f.write("config", "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Developer\n\n"+
					"[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n")
				return []func(*config.LoadOptions) error{config.WithSharedConfigProfile("dev")}
			},
			kind: "sso", caller: assumed("from-sso", "sso"),
		},
		{
			name: "AWS_PROFILE names a profile that does not exist",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.t.Setenv("AWS_PROFILE", "nope")
				return nil
			},
			errors: "SharedConfigProfileNotExistError",
		},
		{
			name: "a source_profile that does not exist",
			setup: func(f *fixture) []func(*config.LoadOptions) error {
				f.write("config", fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = nope\n", f.role("admin")))
				return []func(*config.LoadOptions) error{config.WithSharedConfigProfile("admin")}
			},
			errors: "SharedConfigProfileNotExistError",
		},
	}
}

// TestDefaultCredentialsResolveLikeSDK runs the same shared files and
// environment through config.LoadDefaultConfig alone and with
// WithDefaultCredentials (given first, so that the options after it must
// still count), and checks that both resolve to the same kind of source,
// account and identity (a SigV4-verified GetCallerIdentity), or fail with
// the same class of error.
func TestDefaultCredentialsResolveLikeSDK(t *testing.T) {
	rows := append(append(resolutionRows(), chainRows()...), reviewRows()...)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			f := newFixture(t)
			opts := row.setup(f)
			sdk := resolve(opts...)
			ours := resolve(append([]func(*config.LoadOptions) error{awsoidc.WithDefaultCredentials()}, opts...)...)
			if row.errors != "" {
				if sdk.err == nil || ours.err == nil {
					t.Fatalf("errors: SDK %v, ours %v; want both", sdk.err, ours.err)
				}
				if got, want := errorClass(ours.err), errorClass(sdk.err); got != want || got != row.errors {
					t.Fatalf("error class: ours %s (%v), SDK %s (%v); want %s", got, ours.err, want, sdk.err, row.errors)
				}
				return
			}
			if sdk.err != nil || ours.err != nil {
				t.Fatalf("errors: SDK %v, ours %v", sdk.err, ours.err)
			}
			for _, o := range []struct {
				who string
				outcome
			}{{"SDK", sdk}, {"ours", ours}} {
				if o.kind != row.kind || o.caller != row.caller {
					t.Errorf("%s resolved to %s as %s; want %s as %s", o.who, o.kind, o.caller, row.kind, row.caller)
				}
			}
			if sdk.account != ours.account {
				t.Errorf("account: SDK %q, ours %q", sdk.account, ours.account)
			}
		})
	}
}

// TestDefaultCredentialsResolutionErrorsAtFirstRetrieve: what
// LoadDefaultConfig does not check itself (here, credential_source
// EcsContainer without a container endpoint) is reported by the first
// Retrieve, naming the profile and what is missing, before any call; the
// SDK fails too (in LoadDefaultConfig). A failed resolution is tried
// again on the next Retrieve.
func TestDefaultCredentialsResolutionErrorsAtFirstRetrieve(t *testing.T) {
	f := newFixture(t)
	f.write("config", "[profile ecs]\nrole_arn = "+f.role("admin")+"\ncredential_source = EcsContainer\n")
	f.t.Setenv("AWS_PROFILE", "ecs")
	if sdk := resolve(); sdk.err == nil {
		t.Fatal("the SDK resolved credential_source EcsContainer without a container endpoint")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials())
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v; want the error at the first Retrieve", err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), `profile "ecs"`) || !strings.Contains(err.Error(), "AWS_CONTAINER_CREDENTIALS_FULL_URI") {
		t.Fatalf("Retrieve() = %v; want an error naming profile ecs and the container variables", err)
	}
	if n := f.srv.Calls("AssumeRoleWithWebIdentity"); n != 0 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d; want none", n)
	}
	// A failed resolution is not kept: once the profile is fixed, the next
	// Retrieve resolves the chain. (The environment is the one
	// LoadDefaultConfig read, as in the SDK; the files are read again.)
	f.container(f.issue("from-container", "container"), "container-token")
	f.write("config", "[profile ecs]\nrole_arn = "+f.trusting("ecs-admin", "", "from-container")+"\ncredential_source = EcsContainr\nrole_session_name = ops\n")
	cfg, err = config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials())
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v; want the error at the first Retrieve", err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), `credential_source "EcsContainr"`) {
		t.Fatalf("Retrieve() = %v; want an error naming the unknown credential_source", err)
	}
	f.write("config", "[profile ecs]\nrole_arn = "+f.trusting("ecs-admin", "", "from-container")+"\ncredential_source = EcsContainer\nrole_session_name = ops\n")
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve() after the fix = %v", err)
	}
	if kindOf(creds.Source) != "assume role" {
		t.Fatalf("Source = %q; want an assumed role's", creds.Source)
	}
}

// TestDefaultCredentialsExplicitProviderWins: credentials given with
// config.WithCredentialsProvider win over WithDefaultCredentials, before
// or after it, as they win over the SDK's own resolution.
func TestDefaultCredentialsExplicitProviderWins(t *testing.T) {
	f := newFixture(t)
	f.setEnvKeys(f.issue("from-env", "env"))
	explicit := credentials.NewStaticCredentialsProvider("AKIDEXPLICIT", "secret", "")
	for name, opts := range map[string][]func(*config.LoadOptions) error{
		"before": {config.WithCredentialsProvider(explicit), awsoidc.WithDefaultCredentials()},
		"after":  {awsoidc.WithDefaultCredentials(), config.WithCredentialsProvider(explicit)},
	} {
		cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil || creds.AccessKeyID != "AKIDEXPLICIT" {
			t.Errorf("%s: Retrieve() = %q, %v; want the explicit provider's", name, creds.AccessKeyID, err)
		}
	}
}

// TestDefaultCredentialsHopValidatedBeforeAnyCall: a profile's role_arn
// that is not a role ARN is refused by the first Retrieve, naming the
// profile and the field, before any call to STS; the SDK sends it to STS.
func TestDefaultCredentialsHopValidatedBeforeAnyCall(t *testing.T) {
	f := newFixture(t)
	f.write("config", f.webIdentityProfile()+"[profile admin]\nrole_arn = arn:aws:iam::12:role/admin\nsource_profile = ci\nrole_session_name = admin\n")
	f.t.Setenv("AWS_PROFILE", "admin")
	if sdk := resolve(); sdk.err == nil {
		t.Fatal("the SDK resolved an invalid role ARN")
	}
	if n := f.srv.Calls("AssumeRole"); n == 0 {
		t.Fatal("the SDK did not send the invalid role ARN to STS")
	}
	f.srv.ResetCalls()
	ours := resolve(awsoidc.WithDefaultCredentials())
	if ours.err == nil || !strings.Contains(ours.err.Error(), `profile "admin"`) || !strings.Contains(ours.err.Error(), "Hop.RoleARN") {
		t.Fatalf("error = %v; want one naming profile admin and Hop.RoleARN", ours.err)
	}
	for _, action := range []ststest.Action{"AssumeRole", ststest.ActionAssumeRoleWithWebIdentity} {
		if n := f.srv.Calls(action); n != 0 {
			t.Errorf("%s calls = %d; want none", action, n)
		}
	}
}

// TestDefaultCredentialsResolvedOnce: 50 concurrent first calls resolve the
// chain once and call STS once.
func TestDefaultCredentialsResolvedOnce(t *testing.T) {
	f := newFixture(t)
	f.write("config", f.webIdentityProfile())
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithDefaultCredentials(), config.WithSharedConfigProfile("ci"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
				t.Errorf("Retrieve() = %v", err)
			}
		})
	}
	wg.Wait()
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d; want 1", n)
	}
}

// TestDefaultCredentialsStore: a persistent store given in Options.Cache
// keeps the web identity leg's credentials (keyed by its identity) for the
// next process, and is left out of the hops' caches, whose credentials it
// could not tell apart.
func TestDefaultCredentialsStore(t *testing.T) {
	f := newFixture(t)
	f.write("config", f.webIdentityProfile()+
		fmt.Sprintf("[profile admin]\nrole_arn = %s\nsource_profile = ci\nrole_session_name = admin\n", f.trusting("admin", "", "ci")))
	store, err := cache.NewFileStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	withStore := awsoidc.WithDefaultCredentials(func(o *awsoidc.Options) {
		o.Cache = append(o.Cache, func(co *cache.Options) { co.Store = store })
	})
	for process := 1; process <= 2; process++ {
		out := resolve(withStore, config.WithSharedConfigProfile("admin"))
		if out.err != nil || out.caller != assumed("admin", "admin") {
			t.Fatalf("process %d: %s, %v; want %s", process, out.caller, out.err, assumed("admin", "admin"))
		}
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d; want 1 (the second process loads the stored credentials)", n)
	}
	if n := f.srv.Calls("AssumeRole"); n != 2 {
		t.Errorf("AssumeRole calls = %d; want 2 (a hop's credentials are not stored)", n)
	}
}
