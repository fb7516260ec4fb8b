package spiffe_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/awsoidc/awsoidc/ststest"
)

// workloadID is the SPIFFE ID the fake agent issues by default.
const workloadID = "spiffe://example.org/ns/x/sa/y"

// fetchFunc answers one FetchJWTSVID call of the fake agent.
type fetchFunc func(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error)

// agent is a fake SPIRE agent: a SPIFFE Workload API server on a unix
// socket that answers FetchJWTSVID as fetch says, after the checks that the
// real agent makes of every call.
type agent struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	addr  string // "unix://" + the socket path
	fetch fetchFunc

	mu   sync.Mutex                 // guards reqs
	reqs []*workload.JWTSVIDRequest // every request that passed the checks
}

// startAgent serves fetch on a unix socket in a temporary directory until
// the test ends.
func startAgent(t testing.TB, fetch fetchFunc) *agent {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return serveAgent(t, lis, "unix://"+path, fetch)
}

// serveAgent serves fetch on lis, whose Workload API address is addr, until
// the test ends.
func serveAgent(t testing.TB, lis net.Listener, addr string, fetch fetchFunc) *agent {
	t.Helper()
	a := &agent{addr: addr, fetch: fetch}
	srv := grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(srv, a)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) { // stopped before it served
			t.Errorf("the fake agent stopped: %v", err)
		}
	})
	return a
}

// FetchJWTSVID refuses calls without the security header and without an
// audience, as SPIRE's agent does, then calls a.fetch.
func (a *agent) FetchJWTSVID(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("workload.spiffe.io"); len(v) != 1 || v[0] != "true" {
		return nil, status.Error(codes.InvalidArgument, "security header missing from request")
	}
	if len(req.GetAudience()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "audience must be specified")
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, req)
	a.mu.Unlock()
	return a.fetch(ctx, req)
}

// requests returns the requests the agent accepted so far.
func (a *agent) requests() []*workload.JWTSVIDRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*workload.JWTSVIDRequest(nil), a.reqs...)
}

// mintFor returns a fetchFunc that answers with JWT-SVIDs signed by srv for
// the requested audience: one per identity in ids, in order, or only the
// requested one when the request names a SPIFFE ID among them (SPIRE
// answers PermissionDenied for another).
func mintFor(srv *ststest.Server, ids ...string) fetchFunc {
	return func(_ context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
		resp := &workload.JWTSVIDResponse{}
		for _, id := range ids {
			if req.GetSpiffeId() != "" && req.GetSpiffeId() != id {
				continue
			}
			tok := srv.MintToken(ststest.Claims{Subject: id, Audience: req.GetAudience()[0]})
			resp.Svids = append(resp.Svids, &workload.JWTSVID{SpiffeId: id, Svid: tok})
		}
		if len(resp.Svids) == 0 {
			return nil, status.Error(codes.PermissionDenied, "no identity issued")
		}
		return resp, nil
	}
}

// answer returns a fetchFunc that answers with the given JWT-SVIDs.
func answer(svids ...string) fetchFunc {
	return func(context.Context, *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
		resp := &workload.JWTSVIDResponse{}
		for _, s := range svids {
			resp.Svids = append(resp.Svids, &workload.JWTSVID{SpiffeId: workloadID, Svid: s})
		}
		return resp, nil
	}
}

// fail returns a fetchFunc that answers with err.
func fail(err error) fetchFunc {
	return func(context.Context, *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
		return nil, err
	}
}
