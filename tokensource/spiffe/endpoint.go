package spiffe

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/awsoidc/awsoidc/internal/redact"
	"github.com/awsoidc/awsoidc/internal/tokenid"
	"github.com/awsoidc/awsoidc/tokensource"
)

// socketEnv is the variable that holds the Workload API's address, as the
// SPIFFE Workload Endpoint specification names it (workloadapi.SocketEnv).
const socketEnv = workloadapi.SocketEnv

// errNoAudience is the error of an empty audience.
var errNoAudience = errors.New("the audience is empty: pass the audience that the AWS IAM OIDC identity provider lists as a client ID, such as sts.amazonaws.com")

// endpoint is a checked Workload API address.
type endpoint struct {
	addr   string // as given, scrubbed of anything that looks like a token; names the source in errors
	target string // the gRPC target for addr
}

// fail wraps err in the package's error, naming the address.
func (ep endpoint) fail(err error) error {
	return &tokensource.Error{Source: "spiffe", Name: ep.addr, Err: err}
}

// endpoint checks the inputs of the source and resolves the address, before
// any dial.
func (s *jwtSource) endpoint() (endpoint, error) {
	if s.audience == "" {
		return endpoint{}, &tokensource.Error{Source: "spiffe", Err: errNoAudience}
	}
	if id := s.opts.SPIFFEID; id != "" {
		if _, err := spiffeid.FromString(id); err != nil {
			return endpoint{}, &tokensource.Error{Source: "spiffe", Err: fmt.Errorf("Options.SPIFFEID %s is not a SPIFFE ID (want spiffe://trust-domain/path): %w", strconv.Quote(scrub(id)), err)}
		}
	}
	addr, field := s.opts.Addr, "Options.Addr"
	if addr == "" {
		addr, field = os.Getenv(socketEnv), socketEnv
		if addr == "" {
			return endpoint{}, &tokensource.Error{Source: "spiffe", Name: socketEnv, Err: errors.New("the variable is empty or not set: set it to the Workload API's address, such as unix:///run/spire/agent-sockets/spire-agent.sock, or set Options.Addr")}
		}
	}
	ep := endpoint{addr: scrub(addr)}
	target, err := workloadapi.TargetFromAddress(addr)
	if err != nil {
		return endpoint{}, ep.fail(fmt.Errorf("%s is not a Workload API address (want unix:///path/to/socket or tcp://IP:port): %w", field, err))
	}
	ep.target = target
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "unix" {
		return ep, nil
	}
	if u.Host != "" {
		// unix://run/spire/agent.sock reads "run" as a host: gRPC would
		// refuse it at the first call, with a less helpful message.
		return endpoint{}, ep.fail(fmt.Errorf("%s is not a Workload API address: a unix socket URI has an empty host and an absolute path, with three slashes (unix:///%s%s)", field, u.Host, u.Path))
	}
	// A socket that does not exist is the commonest mistake (no agent, or
	// its directory not mounted into the container): say so, rather than
	// let gRPC report it as Unavailable.
	if _, err := os.Stat(u.Path); err != nil { //nolint:gosec // G703: the socket path is the caller's own configuration
		return endpoint{}, ep.fail(fmt.Errorf("%w (is the SPIRE agent running, and its socket mounted here?)", err))
	}
	return ep, nil
}

// scrub replaces anything in s that looks like a token: a value given where
// an address or an ID belongs is never printed back.
func scrub(s string) string { return redact.Scrub(s, tokenid.Find(s)...) }
