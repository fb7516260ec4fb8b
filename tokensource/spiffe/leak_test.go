package spiffe_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// noSecret fails if err, in any format, holds one of secrets.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(verb, err)
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s of the error holds a token: %s", verb, out)
			}
		}
	}
}

// TestNoTokenInErrors makes the agent answer errors that quote a token, as a
// server may echo what it issued, and checks that the error the source
// returns holds none, in any format, while it keeps the gRPC code.
func TestNoTokenInErrors(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	secret := srv.MintToken(ststest.Claims{Subject: workloadID})
	tests := []struct {
		name string
		err  error
		code codes.Code
	}{
		{"in a PermissionDenied message", status.Error(codes.PermissionDenied, "svid "+secret+" was revoked"), codes.PermissionDenied},
		{"quoted in an Internal message", status.Errorf(codes.Internal, "bad token %q", secret), codes.Internal},
		{"in a plain error", fmt.Errorf("mint failed for %s", secret), codes.Unknown},
		{"as the whole message", status.Error(codes.Unavailable, secret), codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startAgent(t, fail(tt.err))
			_, err := newSource(t, "sts.amazonaws.com", withAddr(a.addr)).Token(context.Background())
			checkErr(t, err, "[REDACTED]")
			noSecret(t, err, secret)
			if got := status.Code(err); got != tt.code {
				t.Errorf("status.Code(err) = %v, want %v", got, tt.code)
			}
			if st, _ := status.FromError(err); strings.Contains(st.Message(), secret) || len(st.Details()) != 0 {
				t.Errorf("the status found in the error holds the token: %v", st.Message())
			}
		})
	}
}

// TestNoTokenInDescription checks that the source describes itself by its
// audience, address and SPIFFE ID, never a token given in their place.
func TestNoTokenInDescription(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	secret := srv.MintToken(ststest.Claims{})
	src := newSource(t, "sts.amazonaws.com", func(o *spiffe.Options) {
		o.Addr = "unix:///run/spire/agent.sock"
		o.SPIFFEID = "spiffe://example.org/ns/x/sa/y"
	})
	want := `spiffe.JWTSource("sts.amazonaws.com", "unix:///run/spire/agent.sock", "spiffe://example.org/ns/x/sa/y")`
	for _, verb := range []string{"%v", "%+v", "%s"} {
		if got := fmt.Sprintf(verb, src); got != want {
			t.Errorf("%s = %s, want %s", verb, got, want)
		}
	}
	pasted := newSource(t, secret, func(o *spiffe.Options) { o.Addr, o.SPIFFEID = secret, secret })
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, pasted); strings.Contains(out, secret) {
			t.Errorf("%s of a source holding a pasted token = %s", verb, out)
		}
	}
	_, err := pasted.Token(context.Background())
	noSecret(t, err, secret)
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", secret)
	_, err = newSource(t, "sts.amazonaws.com", func(o *spiffe.Options) { o.SPIFFEID = secret }).Token(context.Background())
	noSecret(t, err, secret)
	_, err = newSource(t, "sts.amazonaws.com").Token(context.Background())
	checkErr(t, err, "SPIFFE_ENDPOINT_SOCKET is not a Workload API address")
	noSecret(t, err, secret)
}
