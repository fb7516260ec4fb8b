package ststest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestGetCallerIdentityAnyRegion: a client configured for any region signs
// for that region, as it would for STS's regional endpoint there, and the
// server verifies the signature with the region of the credential scope.
func TestGetCallerIdentityAnyRegion(t *testing.T) {
	for _, region := range []string{"us-east-1", "eu-west-1", "ap-southeast-5", "cn-northwest-1", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1"} {
		t.Run(region, func(t *testing.T) {
			s, _ := newTestServer(t)
			creds := assumeCreds(t, s)
			client := sts.NewFromConfig(s.Config(static(creds)), noRetry, func(o *sts.Options) { o.Region = region })
			if _, err := client.GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("GetCallerIdentity signed for %s: %v", region, err)
			}
			// A bad signature still fails in that region.
			bad := creds
			bad.SecretAccessKey = strings.Repeat("x", 40)
			client = sts.NewFromConfig(s.Config(static(bad)), noRetry, func(o *sts.Options) { o.Region = region })
			_, err := client.GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
			if err == nil {
				t.Fatal("GetCallerIdentity with a wrong secret succeeded")
			}
			if code, status := apiCode(t, err); code != "SignatureDoesNotMatch" || status != http.StatusForbidden {
				t.Errorf("code, status = %s, %d; want SignatureDoesNotMatch, 403 (%v)", code, status, err)
			}
		})
	}
}

// TestGetCallerIdentityCustomRegion: the server's own Options.Region is
// accepted even when it is not shaped like an AWS region (a test's
// "local", say), since Server.Config signs with it.
func TestGetCallerIdentityCustomRegion(t *testing.T) {
	s, _ := newTestServer(t, func(o *Options) { o.Region = "local" })
	creds := assumeCreds(t, s)
	if _, err := sts.NewFromConfig(s.Config(static(creds)), noRetry).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestGetCallerIdentityRegionScope signs requests by hand with the SDK's
// signer, then sends them as signed or with the credential scope rewritten.
func TestGetCallerIdentityRegionScope(t *testing.T) {
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	tests := []struct {
		name     string
		region   string // the region signed for
		service  string
		scope    string // the region the Authorization header then names; "" keeps it
		wantCode string // "" for success
		wantMsg  string
	}{
		{name: "eu-west-1", region: "eu-west-1", service: "sts"},
		{name: "us-east-1", region: "us-east-1", service: "sts"},
		{name: "signed for eu-west-1, scope says us-east-1", region: "eu-west-1", service: "sts", scope: "us-east-1", wantCode: "SignatureDoesNotMatch"},
		{name: "signed for us-east-1, scope says eu-west-1", region: "us-east-1", service: "sts", scope: "eu-west-1", wantCode: "SignatureDoesNotMatch"},
		{name: "service s3", region: "eu-west-1", service: "s3", wantCode: "SignatureDoesNotMatch", wantMsg: "correct service"},
		{name: "upper case", region: "EU-WEST-1", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
		{name: "underscores", region: "eu_west_1", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
		{name: "no number", region: "eu-west", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
		{name: "trailing hyphen", region: "eu-west-1-", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
		{name: "one letter prefix", region: "e-west-1", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
		{name: "path", region: "..", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
		{name: "long", region: "eu-" + strings.Repeat("west", 10) + "-1", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
		{name: "empty", region: "", service: "sts", wantCode: "SignatureDoesNotMatch", wantMsg: "valid region"},
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
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), tt.service, tt.region, clk.Now()); err != nil {
				t.Fatal(err)
			}
			if tt.scope != "" {
				auth := req.Header.Get("Authorization")
				rewritten := strings.Replace(auth, "/"+tt.region+"/sts/", "/"+tt.scope+"/sts/", 1)
				if rewritten == auth {
					t.Fatalf("no region to rewrite in %q", auth)
				}
				req.Header.Set("Authorization", rewritten)
			}
			resp, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if tt.wantCode == "" {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status = %d, want 200:\n%s", resp.StatusCode, got)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(got), "<Code>"+tt.wantCode+"</Code>") || !strings.Contains(string(got), tt.wantMsg) {
				t.Errorf("status = %d, body:\n%s\nwant 403, %s, %q", resp.StatusCode, got, tt.wantCode, tt.wantMsg)
			}
			if strings.Contains(string(got), creds.SecretAccessKey) || strings.Contains(string(got), creds.SessionToken) {
				t.Errorf("the answer holds a secret")
			}
		})
	}
}
