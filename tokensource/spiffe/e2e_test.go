package spiffe_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
	"github.com/awsoidc/awsoidc/ststest"
	"github.com/awsoidc/awsoidc/tokensource/spiffe"
)

// TestEndToEnd runs the whole flow: a fake SPIRE agent answers JWT-SVIDs
// signed by ststest's issuer; JWTSource fetches them; the provider trades
// them with the real sts client at ststest, whose role trusts that issuer,
// the audience and the workload's SPIFFE ID as "sub"; the credentials sign a
// GetCallerIdentity that ststest verifies (SigV4).
func TestEndToEnd(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	role := srv.AddRole(ststest.Role{Name: "spire-workload", Audience: "sts.amazonaws.com", Subject: "spiffe://example.org/ns/x/*"})
	a := startAgent(t, mintFor(srv, workloadID))

	src := newSource(t, "sts.amazonaws.com", func(o *spiffe.Options) { o.Addr = a.addr })
	p, err := provider.New(provider.NewSTSClient(srv.Config(nil)), role, src)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // every retrieval fetches a fresh JWT-SVID
		if _, err := p.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	md, _ := p.LastMetadata()
	if md.SubjectFromWebIdentityToken != workloadID || md.Audience != "sts.amazonaws.com" {
		t.Errorf("STS saw sub %q aud %q, want %q and sts.amazonaws.com", md.SubjectFromWebIdentityToken, md.Audience, workloadID)
	}
	if !strings.Contains(md.AssumedRoleARN, "example.org-ns-x-sa-y") {
		t.Errorf("session %s, want a name derived from the SPIFFE ID", md.AssumedRoleARN)
	}
	reqs := a.requests()
	if len(reqs) != 2 {
		t.Fatalf("the agent was asked %d times, want 2 (once per retrieval)", len(reqs))
	}
	if aud := reqs[0].GetAudience(); len(aud) != 1 || aud[0] != "sts.amazonaws.com" || reqs[0].GetSpiffeId() != "" {
		t.Errorf("request = audience %q, spiffe_id %q; want [sts.amazonaws.com] and none", aud, reqs[0].GetSpiffeId())
	}

	id, err := sts.NewFromConfig(srv.Config(p)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != md.AssumedRoleARN || aws.ToString(id.Account) != ststest.DefaultAccountID {
		t.Errorf("GetCallerIdentity = %s in %s, want %s", aws.ToString(id.Arn), aws.ToString(id.Account), md.AssumedRoleARN)
	}
}

// TestEndToEndUntrustedSubject proves the role's trust on "sub" holds: a
// workload with another SPIFFE ID gets its JWT-SVID, and STS refuses it.
func TestEndToEndUntrustedSubject(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	role := srv.AddRole(ststest.Role{Subject: "spiffe://example.org/ns/x/sa/y"})
	a := startAgent(t, mintFor(srv, "spiffe://example.org/ns/x/sa/intruder"))
	p, err := provider.New(provider.NewSTSClient(srv.Config(nil)), role, newSource(t, "sts.amazonaws.com", func(o *spiffe.Options) { o.Addr = a.addr }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err == nil {
		t.Fatal("STS accepted a JWT-SVID whose sub the role does not trust")
	}
}

// TestConcurrent calls one source from many goroutines: each call gets its
// own JWT-SVID from the agent, and nothing races.
func TestConcurrent(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	a := startAgent(t, mintFor(srv, workloadID))
	src := newSource(t, "sts.amazonaws.com", withAddr(a.addr))
	const goroutines, calls = 8, 5
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if tok, err := src.Token(context.Background()); err != nil || tok.Expiry.IsZero() {
					t.Errorf("Token = %v, %v", tok, err)
				}
			}
		})
	}
	wg.Wait()
	if n := len(a.requests()); n != goroutines*calls {
		t.Errorf("the agent answered %d calls, want %d", n, goroutines*calls)
	}
}

// TestTCP fetches from an agent at a tcp:// address, with HTTPS_PROXY set
// to a proxy that does not exist: the Workload API is never proxied.
func TestTCP(t *testing.T) {
	srv := ststest.NewServer()
	t.Cleanup(srv.Close)
	// Go never proxies a loopback address: listen on another one of this
	// machine's, where gRPC would use HTTPS_PROXY.
	lis, err := net.Listen("tcp", nonLoopbackIP(t)+":0")
	if err != nil {
		t.Fatal(err)
	}
	a := serveAgent(t, lis, "tcp://"+lis.Addr().String(), mintFor(srv, workloadID))
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("NO_PROXY", "")
	tok, err := newSource(t, "sts.amazonaws.com", withAddr(a.addr)).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sub := subject(t, tok.Value); sub != workloadID {
		t.Errorf("sub = %q, want %q", sub, workloadID)
	}
}

// nonLoopbackIP returns an IPv4 address of this machine that is not a
// loopback one, or skips the test.
func nonLoopbackIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("no IPv4 address but loopback")
	return ""
}
