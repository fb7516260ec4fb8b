package awsoidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
)

// fixture is one isolated machine for a row of the resolution table: an
// ststest server that every STS call reaches (AWS_ENDPOINT_URL_STS), a
// home directory, shared config and credentials files in a temp dir, a
// token file, and fake credential sources (container endpoint, instance
// metadata, SSO portal, credential_process script) that hand out
// credentials ststest issued, so that GetCallerIdentity tells which role
// each source gave.
type fixture struct {
	t         *testing.T
	srv       *ststest.Server
	dir       string
	tokenFile string
}

const fixtureSubject = "system:serviceaccount:default:app"

func newFixture(t *testing.T, optFns ...func(*ststest.Options)) *fixture {
	t.Helper()
	srv := ststest.NewServer(optFns...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	f := &fixture{t: t, srv: srv, dir: dir, tokenFile: filepath.Join(dir, "token")}
	for k, v := range map[string]string{
		"HOME":                        dir,
		"AWS_ENDPOINT_URL_STS":        srv.URL(),
		"AWS_REGION":                  ststest.DefaultRegion,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	f.write("config", "")
	f.write("credentials", "")
	f.write("token", srv.MintToken(ststest.Claims{Subject: fixtureSubject}))
	return f
}

// role adds a role that trusts the fixture's token and returns its ARN.
func (f *fixture) role(name string) string {
	return f.srv.AddRole(ststest.Role{Name: name, Subject: fixtureSubject})
}

// write writes a file of the fixture's directory and returns its path.
func (f *fixture) write(name, content string) string {
	f.t.Helper()
	path := filepath.Join(f.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o700); err != nil {
		f.t.Fatal(err)
	}
	return path
}

// issue returns credentials that ststest issued for a new role named
// role, in session session: what a fake source hands out.
func (f *fixture) issue(role, session string) aws.Credentials {
	f.t.Helper()
	arn := f.role(role)
	out, err := f.srv.STSClient().AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(arn),
		RoleSessionName:  aws.String(session),
		WebIdentityToken: aws.String(f.srv.MintToken(ststest.Claims{Subject: fixtureSubject})),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	c := out.Credentials
	return aws.Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Expires: aws.ToTime(c.Expiration), CanExpire: true,
		AccountID: ststest.DefaultAccountID,
	}
}

// setEnvKeys puts creds in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN.
func (f *fixture) setEnvKeys(creds aws.Credentials) {
	f.t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
	f.t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
	f.t.Setenv("AWS_SESSION_TOKEN", creds.SessionToken)
}

// process writes a credential_process script that prints creds and
// returns its path.
func (f *fixture) process(creds aws.Credentials) string {
	f.t.Helper()
	out, err := json.Marshal(map[string]any{
		"Version": 1, "AccessKeyId": creds.AccessKeyID, "SecretAccessKey": creds.SecretAccessKey,
		"SessionToken": creds.SessionToken, "Expiration": creds.Expires.UTC().Format(time.RFC3339),
		"AccountId": creds.AccountID,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.write("process.sh", "#!/bin/sh\ncat <<'EOF'\n"+string(out)+"\nEOF\n")
}

// container starts a container credentials endpoint that answers requests
// bearing token with creds, and others with an error that echoes the
// token it was sent; it sets AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN.
func (f *fixture) container(creds aws.Credentials, token string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != token {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"code":"AccessDenied","message":"unknown token %s"}`, got) //nolint:gosec // G705: the fake endpoint echoes the token on purpose: the test checks that it is scrubbed
			return
		}
		writeJSON(w, map[string]any{
			"AccessKeyId": creds.AccessKeyID, "SecretAccessKey": creds.SecretAccessKey, "Token": creds.SessionToken,
			"Expiration": creds.Expires.UTC().Format(time.RFC3339), "AccountId": creds.AccountID,
		})
	}))
	f.t.Cleanup(srv.Close)
	f.t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/v2/credentials")
	f.t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
}

// imds starts an EC2 instance metadata service (IMDSv2) whose instance
// profile gives creds, and points AWS_EC2_METADATA_SERVICE_ENDPOINT at it.
// Storing true in the returned flag makes the service answer 500.
func (f *fixture) imds(creds aws.Credentials) *atomic.Bool {
	const sessionToken, profile = "imds-session", "instance-role"
	down := new(atomic.Bool)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, sessionToken)
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != sessionToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, profile)
		case "/latest/meta-data/iam/security-credentials/" + profile:
			writeJSON(w, map[string]any{
				"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": time.Now().UTC().Format(time.RFC3339),
				"AccessKeyId": creds.AccessKeyID, "SecretAccessKey": creds.SecretAccessKey, "Token": creds.SessionToken,
				"Expiration": creds.Expires.UTC().Format(time.RFC3339),
			})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	f.t.Cleanup(srv.Close)
	f.t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	f.t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.URL)
	return down
}

// ssoPortal starts an IAM Identity Center portal that gives creds for
// account/role to the bearer of accessToken, points AWS_ENDPOINT_URL_SSO
// at it, and writes accessToken to the SSO token cache under cacheKey (the
// start URL for a legacy profile, the sso-session name otherwise), where
// `aws sso login` writes it.
func (f *fixture) ssoPortal(creds aws.Credentials, account, role, accessToken, cacheKey string) {
	f.t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/federation/credentials" || r.Header.Get("X-Amz-Sso_bearer_token") != accessToken ||
			q.Get("account_id") != account || q.Get("role_name") != role {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Session token not found or invalid"}`)
			return
		}
		writeJSON(w, map[string]any{"roleCredentials": map[string]any{
			"accessKeyId": creds.AccessKeyID, "secretAccessKey": creds.SecretAccessKey,
			"sessionToken": creds.SessionToken, "expiration": creds.Expires.UnixMilli(),
		}})
	}))
	f.t.Cleanup(srv.Close)
	f.t.Setenv("AWS_ENDPOINT_URL_SSO", srv.URL)
	path, err := ssocreds.StandardCachedTokenFilepath(cacheKey)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.t.Fatal(err)
	}
	tok, err := json.Marshal(map[string]any{
		"accessToken": accessToken, "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"region": ststest.DefaultRegion, "startUrl": "https://example.awsapps.com/start",
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, tok, 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// outcome is what a configuration resolved to: the kind of source of its
// credentials (from their Source), their account, and the identity that a
// SigV4-verified GetCallerIdentity reports.
type outcome struct {
	kind    string
	account string
	caller  string
	err     error
}

// kinds maps the Source of credentials, the SDK's or ours, to the kind of
// source that produced them.
var kinds = map[string]string{
	"EnvConfigCredentials":           "static",
	stscreds.WebIdentityProviderName: "web identity",
	provider.ProviderName:            "web identity",
	stscreds.ProviderName:            "assume role",
	"AWSOIDCAssumeRole":              "assume role",
	ssocreds.ProviderName:            "sso",
	processcreds.ProviderName:        "process",
	endpointcreds.ProviderName:       "container",
	ec2rolecreds.ProviderName:        "imds",
}

func kindOf(source string) string {
	if strings.HasPrefix(source, "SharedConfigCredentials") {
		return "static"
	}
	if k, ok := kinds[source]; ok {
		return k
	}
	return "unknown source " + source
}

// resolve loads a configuration with opts, retrieves its credentials and
// asks ststest who they are.
func resolve(opts ...func(*config.LoadOptions) error) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return outcome{err: err}
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return outcome{err: err}
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return outcome{err: fmt.Errorf("GetCallerIdentity: %w", err)}
	}
	return outcome{kind: kindOf(creds.Source), account: creds.AccountID, caller: aws.ToString(out.Arn)}
}

// assumed is the caller ARN of a session of role in ststest's account.
func assumed(role, session string) string {
	return "arn:aws:sts::" + ststest.DefaultAccountID + ":assumed-role/" + role + "/" + session
}

// errorClass names the class of err that the table compares: a missing
// profile, the AWS error code, or else err's type.
func errorClass(err error) string {
	var notExist config.SharedConfigProfileNotExistError
	if errors.As(err, &notExist) {
		return "SharedConfigProfileNotExistError"
	}
	var mfa config.AssumeRoleTokenProviderNotSetError
	if errors.As(err, &mfa) {
		return "AssumeRoleTokenProviderNotSetError"
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return fmt.Sprintf("%T", err)
}
