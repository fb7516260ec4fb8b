package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/awsoidc/awsoidc/internal/tokenid"
	"github.com/awsoidc/awsoidc/ststest"
)

// TestFetchedSourceRotatesSameIdentity: a long-running command (serve,
// exec) pins its fetched source to the identity of the first token. GitHub
// Actions gives a new token at each request (another jti, iat, exp,
// run_attempt), of the same identity: each refresh sends the fresh token
// and is not refused as "another identity"; a token of another subject is.
func TestFetchedSourceRotatesSameIdentity(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	role := srv.AddRole(ststest.Role{Name: "gh"})
	var calls atomic.Int32
	var subject atomic.Value
	subject.Store("repo:org/app:ref:refs/heads/main")
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		tok := srv.MintToken(ststest.Claims{
			Subject:  subject.Load().(string),
			IssuedAt: time.Now().Add(time.Duration(n) * time.Second),
			Expiry:   time.Now().Add(5*time.Minute + time.Duration(n)*time.Second),
			Extra:    map[string]any{"jti": "token-" + string(rune('a'+n)), "run_attempt": n},
		})
		_ = json.NewEncoder(w).Encode(map[string]string{"value": tok})
	}))
	t.Cleanup(gh.Close)
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", gh.URL+"/token")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ghs_requestTokenOfTheRunner0123456789")

	var f credFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse([]string{"--role-arn", role, "--token-source", "github-actions", "--endpoint-url", srv.URL(), "--no-cache"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.resolve(fs, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{secrets: &scrubber{}, now: time.Now, getenv: os.Getenv, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
	s, err := a.newSession(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for i := range 3 {
		if _, err := s.prov.Retrieve(t.Context()); err != nil {
			t.Fatalf("refresh %d with a fresh token of the same identity: %v", i+1, err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("token requests = %d, want 3: the first token, then a fresh one at each refresh", n)
	}
	if n := srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 3 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 3", n)
	}
	subject.Store("repo:org/other:ref:refs/heads/main")
	_, err = s.prov.Retrieve(t.Context())
	if me := (*tokenid.MismatchError)(nil); !errors.As(err, &me) {
		t.Errorf("a token of another subject: got %v, want a *tokenid.MismatchError", err)
	}
}
