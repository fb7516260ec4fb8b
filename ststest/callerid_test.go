package ststest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// assumeCreds assumes a role named "app" and returns the credentials.
func assumeCreds(t *testing.T, s *Server) aws.Credentials {
	t.Helper()
	out, err := s.STSClient(noRetry).AssumeRoleWithWebIdentity(testContext(t), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(s.AddRole(Role{Name: "app"})),
		RoleSessionName:  aws.String("sess"),
		WebIdentityToken: aws.String(s.MintToken(Claims{})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Expires:         aws.ToTime(out.Credentials.Expiration),
		CanExpire:       true,
	}
}

func static(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

func TestGetCallerIdentity(t *testing.T) {
	s, _ := newTestServer(t)
	creds := assumeCreds(t, s)
	out, err := sts.NewFromConfig(s.Config(static(creds)), noRetry).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.Arn), "arn:aws:sts::123456789012:assumed-role/app/sess"; got != want {
		t.Errorf("Arn = %q, want %q", got, want)
	}
	if got := aws.ToString(out.Account); got != DefaultAccountID {
		t.Errorf("Account = %q", got)
	}
	if got := aws.ToString(out.UserId); !strings.HasPrefix(got, "AROA") || !strings.HasSuffix(got, ":sess") {
		t.Errorf("UserId = %q", got)
	}
}

func TestGetCallerIdentityErrors(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*aws.Credentials, *fakeNow, *sts.Options)
		wantCode string
	}{
		{"wrong secret", func(c *aws.Credentials, _ *fakeNow, _ *sts.Options) { c.SecretAccessKey = strings.Repeat("x", 40) }, "SignatureDoesNotMatch"},
		{"unknown key", func(c *aws.Credentials, _ *fakeNow, _ *sts.Options) { c.AccessKeyID = "ASIAUNKNOWNUNKNOWN00" }, "InvalidClientTokenId"},
		{"wrong session token", func(c *aws.Credentials, _ *fakeNow, _ *sts.Options) { c.SessionToken += "x" }, "InvalidClientTokenId"},
		{"no session token", func(c *aws.Credentials, _ *fakeNow, _ *sts.Options) { c.SessionToken = "" }, "InvalidClientTokenId"},
		{"expired", func(_ *aws.Credentials, clk *fakeNow, _ *sts.Options) { clk.Advance(time.Hour) }, "ExpiredToken"},
		// Any well-formed region verifies (TestGetCallerIdentityAnyRegion).
		{"malformed region", func(_ *aws.Credentials, _ *fakeNow, o *sts.Options) { o.Region = "moonbase" }, "SignatureDoesNotMatch"},
		{"anonymous", func(c *aws.Credentials, _ *fakeNow, o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} }, "MissingAuthenticationToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestServer(t)
			creds := assumeCreds(t, s)
			mutate := func(o *sts.Options) {
				o.Retryer = aws.NopRetryer{}
				o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
				tt.mutate(&creds, clk, o)
			}
			_, err := sts.NewFromConfig(s.Config(nil), mutate).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
			if err == nil {
				t.Fatal("GetCallerIdentity succeeded")
			}
			if code, status := apiCode(t, err); code != tt.wantCode || status != http.StatusForbidden {
				t.Errorf("code, status = %s, %d; want %s, 403 (%v)", code, status, tt.wantCode, err)
			}
			if s.Calls(ActionGetCallerIdentity) != 1 {
				t.Errorf("Calls = %d, want 1", s.Calls(ActionGetCallerIdentity))
			}
		})
	}
}

// TestGetCallerIdentityTampered signs a request with the real SigV4 signer
// and changes it afterwards.
func TestGetCallerIdentityTampered(t *testing.T) {
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	tests := []struct {
		name   string
		tamper func(r *http.Request) string // returns the body to send
		want   int
	}{
		{"untouched", func(*http.Request) string { return body }, http.StatusOK},
		{"body", func(*http.Request) string { return body + "&X=1" }, http.StatusForbidden},
		{"signed header", func(r *http.Request) string {
			r.Header.Set("X-Amz-Date", "20300102T030406Z")
			return body
		}, http.StatusForbidden},
		{"query", func(r *http.Request) string { r.URL.RawQuery = "a=b"; return body }, http.StatusForbidden},
		{"unsigned header", func(r *http.Request) string { r.Header.Set("X-Extra", "1"); return body }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestServer(t)
			creds := assumeCreds(t, s)
			req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, s.URL()+"/", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			sum := sha256.Sum256([]byte(body))
			if err := v4.NewSigner().SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), "sts", DefaultRegion, clk.Now()); err != nil {
				t.Fatal(err)
			}
			sent := tt.tamper(req)
			req.Body = http.NoBody
			if sent != "" {
				req.Body = nopCloser{strings.NewReader(sent)}
				req.ContentLength = int64(len(sent))
			}
			resp, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
