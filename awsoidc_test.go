package awsoidc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.uber.org/goleak"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/internal/testenv"
	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

func TestMain(m *testing.M) {
	testenv.Isolate()
	goleak.VerifyTestMain(m)
}

const subject = "system:serviceaccount:default:app"

// setup starts ststest, points AWS_ENDPOINT_URL_STS at it, hides the
// developer's AWS configuration and writes a token file for a role.
func setup(t *testing.T) (srv *ststest.Server, roleARN, tokenFile string) {
	t.Helper()
	srv = ststest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_STS":        srv.URL(),
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_PROFILE":                 "",
		"AWS_ROLE_ARN":                "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_ROLE_SESSION_NAME":       "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	roleARN = srv.AddRole(ststest.Role{Name: "app", Subject: subject})
	tokenFile = filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(srv.MintToken(ststest.Claims{Subject: subject})), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, roleARN, tokenFile
}

func callerARN(t *testing.T, cfg aws.Config) string {
	t.Helper()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity() = %v", err)
	}
	return aws.ToString(out.Arn)
}

func TestWithWebIdentity(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	ctx := context.Background()
	// The region comes after our option: the lazily built STS client must
	// still see it.
	cfg, err := config.LoadDefaultConfig(ctx,
		awsoidc.WithWebIdentity(roleARN, tokensource.File(tokenFile),
			func(o *awsoidc.Options) {
				o.Provider = append(o.Provider, func(po *provider.Options) { po.RoleSessionName = "web-identity" })
			}),
		config.WithRegion(ststest.DefaultRegion),
	)
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v", err)
	}
	if got, want := callerARN(t, cfg), "arn:aws:sts::123456789012:assumed-role/app/web-identity"; got != want {
		t.Fatalf("caller = %q, want %q", got, want)
	}
	// A second call is served from the cache.
	callerARN(t, cfg)
	if got := srv.Calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 1", got)
	}
}

func TestWithIRSA(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	t.Setenv("AWS_ROLE_ARN", roleARN)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_SESSION_NAME", "irsa")
	t.Setenv("AWS_REGION", ststest.DefaultRegion)
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithIRSA())
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v", err)
	}
	if got, want := callerARN(t, cfg), "arn:aws:sts::123456789012:assumed-role/app/irsa"; got != want {
		t.Fatalf("caller = %q, want %q", got, want)
	}
	if got := srv.Calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 1", got)
	}
}

// Without any region configured the STS client falls back to the role
// partition's region instead of failing with "Missing Region".
func TestWithIRSANoRegion(t *testing.T) {
	_, roleARN, tokenFile := setup(t)
	t.Setenv("AWS_ROLE_ARN", roleARN)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	cfg, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithIRSA())
	if err != nil {
		t.Fatalf("LoadDefaultConfig() = %v", err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Fatalf("Retrieve() = %v", err)
	}
}

func TestWithIRSAMissingEnvironment(t *testing.T) {
	srv, _, _ := setup(t)
	_, err := config.LoadDefaultConfig(context.Background(), awsoidc.WithIRSA())
	var missing *provider.MissingEnvError
	if !errors.As(err, &missing) {
		t.Fatalf("LoadDefaultConfig() = %v, want a MissingEnvError", err)
	}
	for _, name := range []string{"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if got := srv.Calls("AssumeRoleWithWebIdentity"); got != 0 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 0", got)
	}
}

func TestWithWebIdentityRejectsBadInput(t *testing.T) {
	srv, _, tokenFile := setup(t)
	_, err := config.LoadDefaultConfig(context.Background(),
		awsoidc.WithWebIdentity("arn:aws:iam::12:role/x", tokensource.File(tokenFile)))
	var ve *provider.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "roleARN") {
		t.Fatalf("LoadDefaultConfig() = %v, want a ValidationError naming roleARN", err)
	}
	if got := srv.Calls("AssumeRoleWithWebIdentity"); got != 0 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 0", got)
	}
}

// TestWithWebIdentityStore: two configurations (two processes, say) given
// the same store share one set of credentials.
func TestWithWebIdentityStore(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	dir := filepath.Join(t.TempDir(), "store")
	store, err := cache.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	retrieve := func() aws.Credentials {
		t.Helper()
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(ststest.DefaultRegion),
			awsoidc.WithWebIdentity(roleARN, tokensource.File(tokenFile), func(o *awsoidc.Options) {
				o.STSClient = srv.STSClient()
				o.Cache = append(o.Cache, func(co *cache.Options) { co.Store = store })
			}))
		if err != nil {
			t.Fatal(err)
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return creds
	}
	first := retrieve()
	// A second configuration finds the stored credentials.
	if second := retrieve(); first.AccessKeyID != second.AccessKeyID {
		t.Fatal("the second configuration did not reuse the stored credentials")
	}
	if got := srv.Calls("AssumeRoleWithWebIdentity"); got != 1 {
		t.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 1", got)
	}
}
