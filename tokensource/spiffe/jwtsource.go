package spiffe

import (
	"context"
	"strconv"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/tokensource"
)

// Options configures [JWTSource].
type Options struct {
	// Addr is the address of the Workload API: "unix:///path/to/socket"
	// or "tcp://IP:port". Default: the SPIFFE_ENDPOINT_SOCKET variable,
	// read at every call.
	Addr string
	// SPIFFEID picks the JWT-SVID of one identity, such as
	// "spiffe://example.org/ns/prod/sa/billing", when the workload is
	// entitled to several. Default: the workload's default identity, the
	// first that the Workload API returns.
	SPIFFEID string
}

// JWTSource returns a [tokensource.Source] that fetches a fresh JWT-SVID
// for audience from the SPIFFE Workload API (the SPIRE agent's socket) at
// every call, as the SPIFFE Workload API specification's FetchJWTSVID
// describes. The audience is the one the AWS IAM OIDC identity provider
// lists as client ID, often "sts.amazonaws.com".
//
// The token's Expiry is the SVID's "exp". Every call checks its inputs
// before it dials: an empty audience, an Addr or SPIFFE_ENDPOINT_SOCKET that
// is unset or is not a unix or tcp URI, or an invalid SPIFFEID is reported
// at once; a unix socket that does not exist is reported as such (with
// errors.Is(err, fs.ErrNotExist)), not as a failure to connect. The answer is checked too: a
// JWT-SVID that is not a JWT, whose "sub" is not a SPIFFE ID (or not
// SPIFFEID), whose "aud" lacks audience, or that has expired is refused.
//
// Errors are [*tokensource.Error] values with Source "spiffe" that name the
// address (or SPIFFE_ENDPOINT_SOCKET when it is unset), never a token. A
// refusal of the Workload API keeps its gRPC status, found with
// status.Code(err) (PermissionDenied when no registration entry matches the
// workload, Unavailable when the agent is down), with any JWT its message
// quoted replaced by "[REDACTED]". errors.Is(err, context.DeadlineExceeded)
// reports that ctx ended the wait.
//
// An agent that is not ready is asked again for up to 5 seconds, within
// ctx, 100 ms to 1 s apart: a missing socket or Unavailable (the agent
// starting), and PermissionDenied (the agent has not yet attested a
// workload that has just started). Other refusals are returned at once.
//
// Each call opens its own connection and closes it, so no goroutine or
// socket outlives it; the agent signs and caches the SVIDs, so a call costs
// a local round trip. JWTSource is safe for concurrent use.
func JWTSource(audience string, optFns ...func(*Options)) tokensource.Source {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	return &jwtSource{audience: audience, opts: o, clock: clockutil.Real()}
}

type jwtSource struct {
	audience string
	opts     Options     // read-only after JWTSource
	clock    clock.Clock // decides whether an SVID has expired and times the retries; tests replace it
}

// fetch makes one FetchJWTSVID call, after checking the inputs.
func (s *jwtSource) fetch(ctx context.Context) (tokensource.Token, error) {
	ep, err := s.endpoint()
	if err != nil {
		return tokensource.Token{}, err
	}
	if err := ctx.Err(); err != nil {
		return tokensource.Token{}, ep.fail(err)
	}
	// The Workload API is local and unauthenticated by design (the agent
	// attests the caller by its process): plain text, and never through
	// the HTTPS_PROXY that gRPC would otherwise use for a tcp:// address.
	conn, err := grpc.NewClient(ep.target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithNoProxy())
	if err != nil {
		return tokensource.Token{}, ep.fail(err)
	}
	defer conn.Close()
	// The SPIFFE Workload API specification requires this header, and the
	// agent refuses calls without it: a guard against server-side request
	// forgery through a proxy that forwards to the socket.
	ctx = metadata.AppendToOutgoingContext(ctx, "workload.spiffe.io", "true")
	resp, err := workload.NewSpiffeWorkloadAPIClient(conn).FetchJWTSVID(ctx, &workload.JWTSVIDRequest{
		Audience: []string{s.audience},
		SpiffeId: s.opts.SPIFFEID,
	})
	if err != nil {
		return tokensource.Token{}, ep.fail(remoteError(ctx, err))
	}
	tok, err := pick(resp.GetSvids(), s.audience, s.opts.SPIFFEID, s.clock.Now())
	if err != nil {
		return tokensource.Token{}, ep.fail(err)
	}
	return tok, nil
}

func (s *jwtSource) describe() string {
	addr := s.opts.Addr
	if addr == "" {
		addr = "$" + socketEnv
	}
	d := "spiffe.JWTSource(" + strconv.Quote(scrub(s.audience)) + ", " + strconv.Quote(scrub(addr))
	if s.opts.SPIFFEID != "" {
		d += ", " + strconv.Quote(scrub(s.opts.SPIFFEID))
	}
	return d + ")"
}

// String describes the source by its audience, address and SPIFFE ID, with
// anything that looks like a token replaced by "[REDACTED]".
func (s *jwtSource) String() string { return s.describe() }

// GoString implements [fmt.GoStringer], so that %#v prints the description
// too, rather than the fields.
func (s *jwtSource) GoString() string { return s.describe() }
