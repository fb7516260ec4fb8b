package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// expireStoredLogin makes the ID token of the stored login of f expired,
// so that the next command refreshes it, and returns the stored tokens.
func expireStoredLogin(t *testing.T, f *fixture) *deviceflow.Tokens {
	t.Helper()
	ctx := context.Background()
	store, err := deviceflow.NewFileStore(tokensDir(f.cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	key := deviceflow.StoreKey(f.srv.Issuer(), testClientID)
	tok, ok, err := store.Load(ctx, key)
	if err != nil || !ok || tok.RefreshToken == "" || tok.IDToken == "" {
		t.Fatalf("stored login: ok=%t, err=%v; want tokens with a refresh token", ok, err)
	}
	expired := *tok
	expired.IDTokenExpiry = time.Now().Add(-time.Minute)
	expired.AccessTokenExpiry = expired.IDTokenExpiry
	if err := store.Save(ctx, key, &expired); err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCredentialProcessScrubsIdPErrors logs in, expires the stored ID
// token, and has the identity provider's token endpoint answer every
// refresh with an error that echoes the refresh, ID and access tokens in
// "error" and "error_description". credential-process, a subprocess as the
// AWS CLI runs it, must fail without printing any of them on stderr, even
// with --verbose.
func TestCredentialProcessScrubsIdPErrors(t *testing.T) {
	f, role := newDeviceFixture(t)
	f.login(t)
	tok := expireStoredLogin(t, f)
	secrets := []string{tok.RefreshToken, tok.IDToken, tok.AccessToken}
	echo := "refresh_token=" + tok.RefreshToken + " id_token=" + tok.IDToken + " access_token=" + tok.AccessToken
	args := f.deviceArgs("credential-process", "--role-arn", role, "--endpoint-url", f.srv.URL(), "--verbose")

	// invalid_grant comes last: it makes the command drop the refresh token.
	for _, tc := range []struct {
		name  string
		fault ststest.Fault
		want  string // in stderr
	}{
		{"error code", ststest.Fault{Code: "invalid_request " + echo, Message: "rejected " + echo, Status: 400}, "refresh_token grant failed"},
		{"server error", ststest.Fault{Code: "server_error", Message: "backend choked on " + echo}, "HTTP 500"},
		{"invalid_grant", ststest.Fault{Code: "invalid_grant", Message: "unknown " + echo}, "login required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.srv.ClearFaults(ststest.ActionToken)
			f.srv.Fail(ststest.ActionToken, tc.fault)
			calls := f.srv.Calls(ststest.ActionToken)
			r := f.run(f.env(), args...)
			if n := f.srv.Calls(ststest.ActionToken); n == calls {
				t.Fatalf("credential-process did not refresh (exit %d):\n%s", r.code, r.stderr)
			}
			if r.code != exitError || r.stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit %d and no credentials", r.code, r.stdout, exitError)
			}
			if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "[REDACTED]") {
				t.Errorf("stderr has no %q with the echoed tokens [REDACTED]:\n%s", tc.want, r.stderr)
			}
			assertNoSecrets(t, "credential-process stderr", r.stderr, secrets...)
			t.Logf("stderr:\n%s", r.stderr)
		})
	}
}
