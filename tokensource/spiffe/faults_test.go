package spiffe_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// withAddr sets Options.Addr.
func withAddr(addr string) func(*spiffe.Options) {
	return func(o *spiffe.Options) { o.Addr = addr }
}

// unsignedJWT returns a JWT with the given claims set and a junk signature:
// the source reads claims without verifying them.
func unsignedJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

// TestInputErrors checks that bad input is reported before any dial, with an
// error that names the field or variable and the rule.
func TestInputErrors(t *testing.T) {
	a := startAgent(t, fail(errors.New("the agent must not be called")))
	tests := []struct {
		name     string
		env      string // SPIFFE_ENDPOINT_SOCKET
		audience string
		opts     spiffe.Options
		want     []string
		is       error
	}{
		{name: "variable unset", audience: "sts.amazonaws.com",
			want: []string{`"SPIFFE_ENDPOINT_SOCKET"`, "not set", "Options.Addr"}},
		{name: "variable without scheme", env: "/run/spire/agent.sock", audience: "sts.amazonaws.com",
			want: []string{"SPIFFE_ENDPOINT_SOCKET is not a Workload API address", `"tcp" or "unix" scheme`, "unix:///path/to/socket"}},
		{name: "addr with a host", audience: "sts.amazonaws.com", opts: spiffe.Options{Addr: "unix://run/spire/agent.sock"},
			want: []string{"Options.Addr is not a Workload API address", "three slashes", "unix:///run/spire/agent.sock"}},
		{name: "tcp addr with a name", audience: "sts.amazonaws.com", opts: spiffe.Options{Addr: "tcp://localhost:8081"},
			want: []string{"Options.Addr is not a Workload API address", "IP:port"}},
		{name: "socket missing", audience: "sts.amazonaws.com", opts: spiffe.Options{Addr: "unix://" + filepath.Join(t.TempDir(), "none.sock")},
			want: []string{"no such file", "is the SPIRE agent running", "after retrying for 5s"}, is: fs.ErrNotExist},
		{name: "empty audience", opts: spiffe.Options{Addr: a.addr},
			want: []string{"audience is empty", "sts.amazonaws.com"}},
		{name: "bad SPIFFEID", audience: "sts.amazonaws.com", opts: spiffe.Options{Addr: a.addr, SPIFFEID: "example.org/ns/x"},
			want: []string{`Options.SPIFFEID "example.org/ns/x" is not a SPIFFE ID`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SPIFFE_ENDPOINT_SOCKET", tt.env)
			_, err := newSource(t, tt.audience, func(o *spiffe.Options) { *o = tt.opts }).Token(context.Background())
			checkErr(t, err, tt.want...)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tt.is, err)
			}
		})
	}
	if n := len(a.requests()); n != 0 {
		t.Errorf("the agent was called %d times; bad input must fail before any dial", n)
	}
}

// checkErr fails unless err is a *tokensource.Error from the spiffe source
// whose text contains every one of want.
func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	var te *tokensource.Error
	if !errors.As(err, &te) || te.Source != "spiffe" {
		t.Fatalf("err = %v (%T), want a *tokensource.Error from spiffe", err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %q\nwant it to contain %q", err, w)
		}
	}
}

// TestEnvironment checks that SPIFFE_ENDPOINT_SOCKET is the default address,
// read at every call.
func TestEnvironment(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	a := startAgent(t, mintFor(srv, workloadID))
	src := newSource(t, "sts.amazonaws.com")
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", "")
	if _, err := src.Token(context.Background()); err == nil {
		t.Fatal("Token succeeded with SPIFFE_ENDPOINT_SOCKET empty")
	}
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", a.addr)
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sub := subject(t, tok.Value); sub != workloadID {
		t.Errorf("sub = %q, want %q", sub, workloadID)
	}
}

// TestExpiry checks that the token's Expiry is the SVID's "exp".
func TestExpiry(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	exp := time.Now().Add(5 * time.Minute).Truncate(time.Second).UTC()
	a := startAgent(t, answer(srv.MintToken(ststest.Claims{Subject: workloadID, Expiry: exp})))
	tok, err := newSource(t, "sts.amazonaws.com", withAddr(a.addr)).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Expiry.Equal(exp) {
		t.Errorf("Expiry = %s, want the SVID's exp %s", tok.Expiry, exp)
	}
}

// TestSPIFFEID checks that Options.SPIFFEID asks the agent for one identity
// and picks its SVID, even from an agent that answers all of them, and that
// without it the first (the default identity) is used.
func TestSPIFFEID(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	const billing = "spiffe://example.org/ns/prod/sa/billing"
	fair := startAgent(t, mintFor(srv, workloadID, billing))
	all := startAgent(t, answer(
		srv.MintToken(ststest.Claims{Subject: workloadID}),
		srv.MintToken(ststest.Claims{Subject: billing})))
	tests := []struct {
		name, addr, id, wantSub string
	}{
		{"default identity", fair.addr, "", workloadID},
		{"chosen identity", fair.addr, billing, billing},
		{"chosen from an agent that answers all", all.addr, billing, billing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := newSource(t, "sts.amazonaws.com", func(o *spiffe.Options) { o.Addr, o.SPIFFEID = tt.addr, tt.id }).Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if sub := subject(t, tok.Value); sub != tt.wantSub {
				t.Errorf("sub = %q, want %q", sub, tt.wantSub)
			}
		})
	}
	if reqs := fair.requests(); len(reqs) != 2 || reqs[0].GetSpiffeId() != "" || reqs[1].GetSpiffeId() != billing {
		t.Errorf("the agent was asked for %v, want the default identity then %q", reqs, billing)
	}
}

// subject reads the "sub" of a JWT.
func subject(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(b), `"sub":"`)
	sub, _, _ := strings.Cut(after, `"`)
	return sub
}

// TestFaults checks each way the Workload API can fail: the error says what
// went wrong, keeps what callers match on, and never holds a token.
func TestFaults(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	good := srv.MintToken(ststest.Claims{Subject: workloadID})
	tests := []struct {
		name  string
		id    string // Options.SPIFFEID
		fetch fetchFunc
		ctx   func(t *testing.T) context.Context
		code  codes.Code // the gRPC code found by status.Code(err), or OK for none
		is    error
		want  []string
	}{
		{name: "permission denied", fetch: fail(status.Error(codes.PermissionDenied, "no identity issued")),
			code: codes.PermissionDenied, want: []string{"PermissionDenied", "no identity issued", "registration entry", "after retrying for 5s"}},
		{name: "unimplemented", fetch: fail(status.Error(codes.Unimplemented, "unknown service")),
			code: codes.Unimplemented, want: []string{"not a SPIFFE Workload API"}},
		{name: "slow past the deadline", fetch: nil /* a stuck agent */, ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, code: codes.DeadlineExceeded, is: context.DeadlineExceeded, want: []string{"while waiting for the Workload API"}},
		{name: "no SVID", fetch: answer(), is: tokensource.ErrEmpty, want: []string{"answered no JWT-SVID"}},
		{name: "empty SVID", fetch: answer(""), is: tokensource.ErrEmpty, want: []string{"JWT-SVID 1 of 1", "empty"}},
		{name: "not a JWT", fetch: answer("not-a-jwt"), is: tokensource.ErrMalformed, want: []string{"not a JWT"}},
		{name: "sub not a SPIFFE ID", fetch: answer(srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:ns:sa"})),
			is: tokensource.ErrMalformed, want: []string{`"sub" "system:serviceaccount:ns:sa" is not a SPIFFE ID`}},
		{name: "no exp", fetch: answer(srv.MintToken(ststest.Claims{Subject: workloadID, Extra: map[string]any{"exp": nil}})),
			is: tokensource.ErrMalformed, want: []string{`no usable "exp"`}},
		{name: "no aud", fetch: answer(unsignedJWT(`{"sub":"` + workloadID + `","exp":4102444800}`)),
			is: tokensource.ErrMalformed, want: []string{`"aud" is missing`}},
		{name: "wrong audience", fetch: answer(srv.MintToken(ststest.Claims{Subject: workloadID, Audience: "vault"})),
			want: []string{`for the audience "vault", not "sts.amazonaws.com"`}},
		{name: "expired", fetch: answer(srv.MintToken(ststest.Claims{Subject: workloadID, Expiry: time.Now().Add(-time.Hour), IssuedAt: time.Now().Add(-2 * time.Hour)})),
			want: []string{"JWT-SVID for " + workloadID, "has expired"}},
		{name: "first of two SVIDs malformed", fetch: answer("not-a-jwt", good), is: tokensource.ErrMalformed, want: []string{"JWT-SVID 1 of 2"}},
		{name: "SPIFFEID not answered", id: "spiffe://example.org/other", fetch: answer(good), want: []string{`no JWT-SVID for Options.SPIFFEID "spiffe://example.org/other", only for "` + workloadID + `"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetch := tt.fetch
			if fetch == nil { // a stuck agent answers once the test is over
				release := make(chan struct{})
				fetch = func(context.Context, *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
					<-release
					return nil, status.Error(codes.Internal, "too late")
				}
				defer close(release) // before the agent stops
			}
			a := startAgent(t, fetch)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			src := newSource(t, "sts.amazonaws.com", func(o *spiffe.Options) { o.Addr, o.SPIFFEID = a.addr, tt.id })
			tok, err := src.Token(ctx)
			if tok != (tokensource.Token{}) {
				t.Errorf("token = %v on error, want none", tok)
			}
			checkErr(t, err, append(tt.want, a.addr)...)
			if got := status.Code(err); got != tt.code && !(tt.code == codes.OK && got == codes.Unknown) {
				t.Errorf("status.Code(err) = %v, want %v", got, tt.code)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tt.is, err)
			}
			noSecret(t, err, good)
		})
	}
}

// TestAgentDown checks an agent whose socket exists but which does not
// listen: Unavailable, with a hint.
func TestAgentDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	lis.SetUnlinkOnClose(false) // a crashed agent leaves its socket file behind
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = newSource(t, "sts.amazonaws.com", withAddr("unix://"+path)).Token(context.Background())
	checkErr(t, err, "Unavailable", "is the SPIRE agent running", "after retrying for 5s")
	if status.Code(err) != codes.Unavailable {
		t.Errorf("status.Code(err) = %v, want Unavailable", status.Code(err))
	}
}

// TestCanceled checks that a done ctx fails at once, without a call.
func TestCanceled(t *testing.T) {
	a := startAgent(t, fail(errors.New("the agent must not be called")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSource(t, "sts.amazonaws.com", withAddr(a.addr)).Token(ctx)
	checkErr(t, err, a.addr)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := len(a.requests()); n != 0 {
		t.Errorf("the agent was called %d times", n)
	}
}

// TestExpiryByTheSourceClock checks that the source judges an SVID's expiry
// by its own clock: an SVID that lives 10 more minutes is refused by a
// source whose clock is an hour ahead, and taken by one that is on time.
func TestExpiryByTheSourceClock(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	exp := time.Now().Add(10 * time.Minute)
	a := startAgent(t, answer(srv.MintToken(ststest.Claims{Subject: workloadID, Expiry: exp})))
	src := spiffe.JWTSource("sts.amazonaws.com", withAddr(a.addr))
	fake := clock.NewFake(exp.Add(-time.Second))
	spiffe.SetClock(src, fake)
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatalf("a second before exp: %v", err)
	}
	fake.Advance(time.Hour)
	_, err := src.Token(context.Background())
	checkErr(t, err, "has expired", "expired at "+exp.UTC().Format(time.RFC3339))
}
