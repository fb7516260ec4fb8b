package ststest

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/oauth2"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestNoSecretsInLogsOrFormatting runs every action with a debug logger and
// checks that no token, secret key or session token appears in the log or
// in any formatting of the server and its sessions.
func TestNoSecretsInLogsOrFormatting(t *testing.T) {
	var logs syncBuffer
	s, _ := newTestServer(t, func(o *Options) {
		o.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tok := s.MintToken(Claims{})
	creds := assumeCreds(t, s)
	if _, err := sts.NewFromConfig(s.Config(static(creds)), noRetry).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	bad := creds
	bad.SecretAccessKey = "wrong-secret-wrong-secret-wrong-secret00"
	_, _ = sts.NewFromConfig(s.Config(static(bad)), noRetry).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
	s.Fail(ActionAssumeRoleWithWebIdentity, Fault{Code: "Throttling"})
	_, _ = s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/app"), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(tok),
	})

	s.Fail(ActionToken, Fault{Code: "server_error"})
	s.AddClient(Client{ID: testClient, Secret: "client-secret-value", RotateRefreshTokens: true})
	s.AutoApprove("alice")
	da, err := oauthConfig(t, s, testClient, "").DeviceAuth(testContext(t), oauth2.SetAuthURLParam("client_secret", "client-secret-value"))
	if err != nil {
		t.Fatal(err)
	}
	device := url.Values{"grant_type": {grantDeviceCode}, "client_id": {testClient}, "client_secret": {"client-secret-value"}, "device_code": {da.DeviceCode}}
	_ = postToken(t, s, device) // fault
	tr := postToken(t, s, device)
	_ = refresh(t, s, testClient, tr.RefreshToken)

	out := logs.String()
	for _, v := range []any{s, s.Sessions(), []*Server{s}, Client{ID: "x", Secret: "client-secret-value"}, &Client{Secret: "client-secret-value"}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out += fmt.Sprintf(verb, v)
		}
	}
	if !strings.Contains(logs.String(), "AssumeRoleWithWebIdentity") {
		t.Errorf("expected request logs, got %q", logs.String())
	}
	for name, secret := range map[string]string{"token": tok, "secret key": creds.SecretAccessKey, "session token": creds.SessionToken, "wrong secret": bad.SecretAccessKey,
		"client secret": "client-secret-value", "device code": da.DeviceCode, "ID token": tr.IDToken, "access token": tr.AccessToken, "refresh token": tr.RefreshToken} {
		if strings.Contains(out, secret) {
			t.Errorf("%s leaked", name)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s, _ := newTestServer(t)
	arn := s.AddRole(Role{Name: "app"})
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			client := s.STSClient(noRetry)
			out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(arn), RoleSessionName: aws.String(fmt.Sprintf("s%d", i)),
				WebIdentityToken: aws.String(s.MintToken(Claims{Alg: supportedAlgs[i%len(supportedAlgs)]})),
			})
			if err != nil {
				errs <- err
				return
			}
			c := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
			id, err := sts.NewFromConfig(s.Config(static(c)), noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				errs <- err
				return
			}
			if want := fmt.Sprintf("/app/s%d", i); !strings.HasSuffix(*id.Arn, want) {
				errs <- fmt.Errorf("Arn %s, want suffix %s", *id.Arn, want)
			}
		})
		wg.Go(func() {
			s.AddRole(Role{Name: fmt.Sprintf("other%d", i)})
			s.addAudience(s.Issuer(), fmt.Sprintf("client%d", i))
			s.Fail(ActionGetCallerIdentity+"-unused", Fault{})
			_ = s.Calls(ActionAssumeRoleWithWebIdentity)
			_ = s.Sessions()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.Calls(ActionAssumeRoleWithWebIdentity); got != 16 {
		t.Errorf("Calls = %d, want 16", got)
	}
	if got := len(s.Sessions()); got != 16 {
		t.Errorf("%d sessions, want 16", got)
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"*:ns:*", "system:serviceaccount:ns:app", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*b", "xaxxb", true},
		{"*", "", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestPackedPolicySize(t *testing.T) {
	small := packedPolicySize(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, nil, 1024)
	if small <= 0 || small >= 20 {
		t.Errorf("small policy = %d%%", small)
	}
	if got := packedPolicySize("", nil, 1024); got != 0 {
		t.Errorf("no policy = %d%%", got)
	}
	arns := make([]string, 10)
	for i := range arns {
		arns[i] = strings.Repeat("x", 250)
	}
	if got := packedPolicySize("", arns, 1024); got <= 100 {
		t.Errorf("2500 characters of ARNs = %d%%, want over 100", got)
	}
}
