package awsoidc_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
)

// TestRootOptionsRetryExpired proves that WithWebIdentity and WithIRSA wire
// RetryExpired themselves: a service that takes the cached credentials for
// expired (the server's clock moved past their expiry, as after a
// revocation) gets one more request, signed with fresh credentials, and
// the caller sees success. Without the wiring the second call fails with
// ExpiredToken.
func TestRootOptionsRetryExpired(t *testing.T) {
	for _, opt := range []string{"WithWebIdentity", "WithIRSA", "WithDefaultCredentials"} {
		t.Run(opt, func(t *testing.T) {
			var skew atomic.Int64
			srv := ststest.NewServer(func(o *ststest.Options) {
				o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			})
			t.Cleanup(srv.Close)
			roleARN := srv.AddRole(ststest.Role{Name: "app", Subject: subject})
			dir := t.TempDir()
			// The token outlives the server's clock jump; the credentials do not.
			tokenFile := filepath.Join(dir, "token")
			token := srv.MintToken(ststest.Claims{Subject: subject, Expiry: time.Now().Add(24 * time.Hour)})
			if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]string{
				"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
				"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
				"AWS_PROFILE":                 "",
				"AWS_EC2_METADATA_DISABLED":   "true",
				"AWS_ROLE_SESSION_NAME":       "",
				"AWS_ROLE_ARN":                roleARN,
				"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
			} {
				t.Setenv(k, v)
			}
			withSTS := func(o *awsoidc.Options) { o.STSClient = srv.STSClient() }
			var load config.LoadOptionsFunc
			switch opt {
			case "WithIRSA":
				load = awsoidc.WithIRSA(withSTS)
			case "WithDefaultCredentials": // the environment's web identity leg
				load = awsoidc.WithDefaultCredentials(withSTS)
			default:
				load = awsoidc.WithWebIdentity(roleARN, tokensource.File(tokenFile), withSTS)
			}
			cfg, err := config.LoadDefaultConfig(context.Background(), load, config.WithRegion("us-east-1"),
				config.WithBaseEndpoint(srv.URL()))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
				t.Fatalf("cfg.Credentials is %T, want the *aws.CredentialsCache the option built", cfg.Credentials)
			}
			client := sts.NewFromConfig(cfg)
			if _, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatal(err)
			}
			skew.Add(int64(2 * time.Hour))
			gci, arwwi := srv.Calls(ststest.ActionGetCallerIdentity), srv.Calls(ststest.ActionAssumeRoleWithWebIdentity)
			if _, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("GetCallerIdentity after the server expired the credentials: %v", err)
			}
			if got := srv.Calls(ststest.ActionGetCallerIdentity) - gci; got != 2 {
				t.Errorf("GetCallerIdentity requests = %d, want 2 (the expired one and its retry)", got)
			}
			if got := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity) - arwwi; got != 1 {
				t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1 refresh", got)
			}
		})
	}
}

// TestRetryExpiredStaysOutWhenReplaced: a config.WithCredentialsProvider
// after the root option replaces its credentials, and the middleware the
// option added stays out of the requests: an ExpiredToken is returned as
// the service sent it, after one request, and the option's credentials are
// never retrieved.
func TestRetryExpiredStaysOutWhenReplaced(t *testing.T) {
	srv, roleARN, tokenFile := setup(t)
	var retrieved atomic.Int64
	src := tokensource.Func(func(ctx context.Context) (tokensource.Token, error) {
		retrieved.Add(1)
		return tokensource.File(tokenFile).Token(ctx)
	})
	mine := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDMINE", SecretAccessKey: "secret", CanExpire: false}, nil
	}))
	cfg, err := config.LoadDefaultConfig(context.Background(),
		awsoidc.WithWebIdentity(roleARN, src, func(o *awsoidc.Options) { o.STSClient = srv.STSClient() }),
		config.WithCredentialsProvider(mine), config.WithRegion("us-east-1"), config.WithBaseEndpoint(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	srv.Fail(ststest.ActionGetCallerIdentity, ststest.Fault{Code: "ExpiredToken", Status: 403})
	before := srv.Calls(ststest.ActionGetCallerIdentity)
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err == nil {
		t.Fatal("GetCallerIdentity succeeded; want the scripted ExpiredToken")
	}
	if got := srv.Calls(ststest.ActionGetCallerIdentity) - before; got != 1 {
		t.Errorf("GetCallerIdentity requests = %d, want 1: RetryExpired of a replaced provider retried", got)
	}
	if n := retrieved.Load(); n != 0 {
		t.Errorf("the replaced option's token source was read %d times, want 0", n)
	}
}
