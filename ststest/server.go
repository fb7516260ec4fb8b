package ststest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Default values of [Options].
const (
	DefaultAccountID = "123456789012"
	DefaultRegion    = "us-east-1"
	defaultAudience  = "sts.amazonaws.com"
)

// issuerPath is where the OIDC issuer lives on the server's origin.
const issuerPath = "/oidc"

// Options configures a [Server]. The zero value is ready to use; see
// [NewServer] for the defaults.
type Options struct {
	// Now returns the current time. It decides token expiry, credential
	// expiration and the claims [Server.MintToken] fills in. Default:
	// [time.Now].
	Now func() time.Time

	// AccountID is the account of roles added by name. Default
	// [DefaultAccountID].
	AccountID string

	// Region is the region of [Server.Config] and [Server.STSClient]. The
	// server stands for every regional STS endpoint: GetCallerIdentity
	// accepts a SigV4 signature scoped to service "sts" and to this region
	// or any well-formed region name (us-gov-west-1, cn-north-1, ...), and
	// verifies it with the scope's region; a malformed region, another
	// service or a signature made for another region than its scope names
	// is SignatureDoesNotMatch. Default [DefaultRegion].
	Region string

	// Audience is the client ID registered for the server's own issuer, the
	// default audience of minted tokens and the default audience a role
	// trusts. Default "sts.amazonaws.com".
	Audience string

	// TLS serves https with a self-signed certificate instead of http. Use
	// [Server.HTTPClient] (or [Server.STSClient], [Server.Config]) to reach it.
	TLS bool

	// IDPTimeout bounds the fetch of an issuer's keys; a slower issuer makes
	// AssumeRoleWithWebIdentity fail with IDPCommunicationError. Default 5s.
	IDPTimeout time.Duration

	// Set by this package's tests:
	// httpClient is what STS uses to fetch an issuer's discovery document
	// and JWKS; default a client that trusts this server.
	httpClient *http.Client
	// logger receives one debug line per request (action, status, error
	// code, request ID), never a token or a secret; default none.
	logger       *slog.Logger
	maxBodyBytes int64 // caps every request body; default 64 KiB
	// packedPolicyLimit is the size, in bytes of DEFLATE-compressed session
	// policy plus policy ARNs, that counts as 100% of the packed policy
	// budget (see packedPolicySize); default 1024.
	packedPolicyLimit int
}

// Server is an in-process STS and OIDC identity provider. Create it with
// [NewServer] and stop it with [Server.Close]. All methods are safe for
// concurrent use.
type Server struct {
	opts   Options
	srv    *httptest.Server
	keys   *keySet
	client *http.Client // trusts srv; used when Options.httpClient is nil
	done   chan struct{}

	closeOnce sync.Once

	mu        sync.Mutex                 // guards every field below
	roles     map[string]*role           // by ARN
	audiences map[string]map[string]bool // issuer -> registered client IDs
	sessions  map[string]*session        // by access key ID
	order     []string                   // access key IDs in issue order
	faults    map[Action][]*faultState
	latency   map[Action]time.Duration
	holds     map[Action][]*gate
	calls     map[Action]int
	changed   chan struct{} // closed and replaced whenever calls or device authorizations change
	roleSeq   int

	clients       map[string]*Client
	devices       map[string]*deviceGrant // by device code
	userCodes     map[string]*deviceGrant // by user code
	deviceOrder   []*deviceGrant
	refreshTokens map[string]*refreshGrant
	autoApprove   string // subject, or "" (see AutoApprove)
}

// NewServer starts a Server on a loopback port. Defaults: Options.Now
// [time.Now], AccountID [DefaultAccountID], Region [DefaultRegion], Audience
// "sts.amazonaws.com". The server's own issuer is registered with Audience as
// its client ID. NewServer panics if it cannot listen or generate keys, as
// [httptest.NewServer] does.
func NewServer(optFns ...func(*Options)) *Server {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Audience == "" {
		o.Audience = defaultAudience
	}
	if o.IDPTimeout <= 0 {
		o.IDPTimeout = 5 * time.Second
	}
	if o.maxBodyBytes <= 0 {
		o.maxBodyBytes = 64 << 10
	}
	if o.packedPolicyLimit <= 0 {
		o.packedPolicyLimit = 1024
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	keys, err := newKeySet()
	if err != nil {
		panic(fmt.Sprintf("ststest: generating keys: %v", err))
	}
	s := &Server{
		opts:      o,
		keys:      keys,
		done:      make(chan struct{}),
		roles:     make(map[string]*role),
		audiences: make(map[string]map[string]bool),
		sessions:  make(map[string]*session),
		faults:    make(map[Action][]*faultState),
		latency:   make(map[Action]time.Duration),
		holds:     make(map[Action][]*gate),
		calls:     make(map[Action]int),
		changed:   make(chan struct{}),

		clients:       make(map[string]*Client),
		devices:       make(map[string]*deviceGrant),
		userCodes:     make(map[string]*deviceGrant),
		refreshTokens: make(map[string]*refreshGrant),
	}
	if o.TLS {
		s.srv = httptest.NewTLSServer(s.routes())
	} else {
		s.srv = httptest.NewServer(s.routes())
	}
	s.client = s.srv.Client()
	s.addAudience(s.Issuer(), o.Audience)
	return s
}

// Close releases every held request, shuts the server down and waits for
// outstanding requests to finish, like [httptest.Server.Close].
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// URL returns the STS endpoint, e.g. "http://127.0.0.1:41234". Set it as
// BaseEndpoint or AWS_ENDPOINT_URL_STS.
func (s *Server) URL() string { return s.srv.URL }

// Issuer returns the OIDC issuer URL, the "iss" of minted tokens. Discovery
// is at Issuer()+"/.well-known/openid-configuration".
func (s *Server) Issuer() string { return s.srv.URL + issuerPath }

// HTTPClient returns an HTTP client that trusts the server (needed with
// [Options.TLS]). Its idle connections are closed by [Server.Close].
func (s *Server) HTTPClient() *http.Client { return s.client }

// STSClient returns the real aws-sdk-go-v2 STS client pointed at the server,
// with anonymous credentials (AssumeRoleWithWebIdentity is unsigned), region
// [Options.Region] and the SDK's default retryer. optFns adjust it, e.g.
// o.Retryer = aws.NopRetryer{} to see each injected fault once.
func (s *Server) STSClient(optFns ...func(*sts.Options)) *sts.Client {
	return sts.NewFromConfig(s.Config(nil), optFns...)
}

// Config returns an aws.Config pointed at the server (BaseEndpoint, Region,
// HTTP client) with creds as its credentials, for GetCallerIdentity or any
// other client built from it. A nil creds means anonymous credentials. creds
// is used as is, not wrapped in an [aws.CredentialsCache].
func (s *Server) Config(creds aws.CredentialsProvider) aws.Config {
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	return aws.Config{
		Region:       s.opts.Region,
		Credentials:  creds,
		BaseEndpoint: aws.String(s.URL()),
		HTTPClient:   s.client,
	}
}

// Format prints the server as "ststest.Server(URL)" for every verb, so that
// no verb reaches the unexported fields that hold keys and credentials.
func (s *Server) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "ststest.Server("+s.URL()+")")
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.serveSTS)
	mux.HandleFunc("GET /{$}", s.serveSTS)
	mux.HandleFunc("GET "+issuerPath+"/.well-known/openid-configuration", s.serveDiscovery)
	mux.HandleFunc("GET "+issuerPath+"/keys", s.serveJWKS)
	mux.HandleFunc("POST "+issuerPath+"/device/code", s.serveDeviceAuthorization)
	mux.HandleFunc("POST "+issuerPath+"/token", s.serveToken)
	mux.HandleFunc("POST "+issuerPath+"/revoke", s.serveRevoke)
	mux.HandleFunc(issuerPath+"/device", s.serveVerification)
	return s.withDate(mux)
}

// withDate sets every response's Date header from [Options.Now], as AWS
// sends its own clock there: clients that correct for clock skew (the SDK's
// signer, awsoidc's provider) measure it against the server's time, so a
// test can shift Options.Now to simulate a client clock that is off.
func (s *Server) withDate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		h.ServeHTTP(w, r)
	})
}

// now returns the server's current time.
func (s *Server) now() time.Time { return s.opts.Now() }
