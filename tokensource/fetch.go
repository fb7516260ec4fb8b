package tokensource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/clockutil"
	"github.com/awsoidc/awsoidc/internal/redact"
)

// Limits of the sources that fetch a token over HTTP.
const (
	defaultHTTPTimeout = 10 * time.Second
	maxFetchBody       = 64 << 10 // like a token file; a token answer is a few KiB
	maxStatusQuote     = 512      // the start of a scrubbed error body that a StatusError quotes
	maxRedirects       = 3
	maxRetryAfter      = 24 * 60 * 60 // seconds: a longer Retry-After is capped to a day
)

// HTTPOptions configures the sources that fetch a token over HTTP:
// [GitHubActions], [GCP] and [Azure].
type HTTPOptions struct {
	// Client sends the requests. Nil means a client of its own: through the
	// proxy of the environment (HTTPS_PROXY, NO_PROXY) for GitHub Actions,
	// direct for the metadata servers of Google Cloud and Azure, which
	// live on a link-local address that no proxy reaches. Whatever the
	// client's own CheckRedirect says, a redirect to another scheme, host
	// or port is refused, so that no request header (the bearer token, the
	// identity header) reaches another server.
	Client *http.Client
	// Timeout bounds one request, answer included, within the caller's
	// ctx. Zero or less means 10 seconds.
	Timeout time.Duration
}

// StatusError is the cause of an [*Error] when a server answers a token
// request with an HTTP status other than 200 OK. Match it with
// [errors.As]. Like it, the cause of a timeout, a refused or reset
// connection and an answer cut short has a method Retryable() bool that
// reports true; match any of them with errors.As and an
// interface{ Retryable() bool }.
type StatusError struct {
	// StatusCode is the HTTP status code, e.g. 429.
	StatusCode int
	// RetryAfter is the wait the server asked for in a Retry-After header
	// (RFC 9110 §10.2.3), zero when it sent none.
	RetryAfter time.Duration
	// Message is the start of the answer's body, with every token the
	// request carried or the body holds replaced by [redact.Placeholder].
	Message string
}

// Error returns "HTTP <code> <status>", the wait asked for and the message.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("HTTP " + strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Retryable reports whether another request later may succeed: true for
// 408 Request Timeout, 429 Too Many Requests and every 5xx status, false for
// the other statuses (a refused or malformed request, a missing identity).
func (e *StatusError) Retryable() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// fetcher sends the GET requests of one HTTP source.
type fetcher struct {
	source  string // the Source of its errors: "github-actions", "gcp", "azure"
	client  *http.Client
	timeout time.Duration
	clock   clock.Clock // tells the time for Retry-After dates and expiry checks
}

// newFetcher normalizes o for the source named source. proxied says
// whether the default client goes through the environment's proxy.
func newFetcher(source string, proxied bool, optFns []func(*HTTPOptions)) *fetcher {
	var o HTTPOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultHTTPTimeout
	}
	if o.Client == nil {
		o.Client = defaultHTTPClient(proxied)
	}
	return &fetcher{source: source, client: o.Client, timeout: o.Timeout, clock: clockutil.Real()}
}

var (
	proxiedClient = sync.OnceValue(func() *http.Client { return newDefaultClient(true) })
	directClient  = sync.OnceValue(func() *http.Client { return newDefaultClient(false) })
)

func defaultHTTPClient(proxied bool) *http.Client {
	if proxied {
		return proxiedClient()
	}
	return directClient()
}

func newDefaultClient(proxied bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if !proxied {
		t.Proxy = nil
	}
	return &http.Client{Transport: t}
}

// request is one GET: its URL, its headers and the secrets it carries
// (the values of headers such as the bearer token), which no error may
// show.
type request struct {
	url     *url.URL
	header  http.Header
	secrets []string
}

// errRequestTimeout is the cause of a request that outlived the fetcher's
// timeout.
type errRequestTimeout struct{ d time.Duration }

func (e errRequestTimeout) Error() string { return "no answer within " + e.d.String() }

// Is makes the timeout match context.DeadlineExceeded, as a ctx deadline
// does.
func (e errRequestTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// Retryable reports true: another request may be answered in time.
func (e errRequestTimeout) Retryable() bool { return true }

// transportErr is a failed exchange, its text scrubbed of the request's
// secrets. It keeps what the text alone no longer says: whether another
// request later may succeed.
type transportErr struct {
	msg       string
	retryable bool
}

func (e *transportErr) Error() string { return e.msg }

// Retryable reports whether another request later may succeed: true for a
// refused or reset connection, a network timeout and an answer cut short
// (a metadata server starting, a restarting endpoint), false for the rest
// (an unknown host, a TLS failure, a refused redirect).
func (e *transportErr) Retryable() bool { return e.retryable }

// retryableTransport reports whether err, from an HTTP exchange, is a
// failure that another request later may not meet.
func retryableTransport(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || (errors.As(err, &ne) && ne.Timeout())
}

// errRedirect is the cause of a refused redirect.
var errRedirect = errors.New("refused a redirect")

// get sends r and returns the body of a 200 answer. Every error is an
// [*Error] naming the source and the URL without its query, scrubbed of
// r.secrets and of any token the answer holds.
func (f *fetcher) get(ctx context.Context, r request) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, f.fail(r, err)
	}
	reqCtx, cancel := context.WithTimeoutCause(ctx, f.timeout, errRequestTimeout{f.timeout})
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, r.url.String(), nil)
	if err != nil {
		return nil, f.fail(r, err)
	}
	req.Header = r.header.Clone()
	resp, err := f.clientFor(r).Do(req) //nolint:gosec // G107/G704: the URL is the provider's documented endpoint
	if err != nil {
		return nil, f.fail(r, f.transportError(ctx, reqCtx, r, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBody+1))
	if err != nil {
		return nil, f.fail(r, f.transportError(ctx, reqCtx, r, err))
	}
	if len(body) > maxFetchBody {
		return nil, f.fail(r, fmt.Errorf("%w: the answer is larger than %d bytes", ErrMalformed, maxFetchBody))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, f.fail(r, &StatusError{
			StatusCode: resp.StatusCode,
			RetryAfter: retryAfter(resp.Header, f.clock.Now()),
			Message:    quoteBody(body, r.secrets),
		})
	}
	return body, nil
}

// fetch sends r and returns the token that parse reads from the body of
// the 200 answer, refused when it is malformed or already expired (see
// checkFetched). Every error is an [*Error] naming the source and the URL,
// as get's.
func (f *fetcher) fetch(ctx context.Context, r request, parse func(body []byte) (Token, error)) (Token, error) {
	body, err := f.get(ctx, r)
	if err != nil {
		return Token{}, err
	}
	tok, err := parse(body)
	if err == nil {
		err = checkFetched(tok, f.clock.Now())
	}
	if err != nil {
		return Token{}, f.fail(r, err)
	}
	return tok, nil
}

// clientFor returns f's client with a redirect policy that refuses any
// redirect to another scheme, host or port (Go's client forwards every
// header but Authorization and cookies to another host, and Authorization
// to another port of the same host), then applies the client's own policy.
func (f *fetcher) clientFor(r request) *http.Client {
	c := *f.client
	own := f.client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
			return fmt.Errorf("%w to another host (%s)", errRedirect, redact.Scrub(req.URL.Scheme+"://"+req.URL.Host, r.secrets...))
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	return &c
}

// transportError turns a failed exchange into a cause without the request
// URL (the error's Name has it): the caller's ctx error when ctx ended, the
// timeout when the fetcher's own deadline passed, else the transport's
// error, scrubbed.
func (f *fetcher) transportError(ctx, reqCtx context.Context, r request, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if cause := context.Cause(reqCtx); cause != nil {
		return cause
	}
	if errors.Is(err, errRedirect) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err // built by clientFor, already scrubbed
		}
	}
	retryable := retryableTransport(err)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &transportErr{msg: redact.Scrub(err.Error(), r.secrets...), retryable: retryable}
}

// fail wraps err in an [*Error] naming the source and r's URL without its
// query (which may carry anything), scrubbed of r's secrets.
func (f *fetcher) fail(r request, err error) error {
	return &Error{Source: f.source, Name: urlName(r.url, r.secrets), Err: err}
}

// urlName is u without user information, query or fragment, scrubbed of
// secrets.
func urlName(u *url.URL, secrets []string) string {
	if u == nil {
		return ""
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return redact.Scrub(v.String(), secrets...)
}

// retryAfter parses a Retry-After header, delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3). A date is measured from the answer's own Date header
// when it has one, so the two clocks' skew does not matter, else from now.
// It returns zero for a missing, malformed or past value.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(n, 0), maxRetryAfter)) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		now = d
	}
	if wait := at.Sub(now); wait > 0 {
		return min(wait, maxRetryAfter*time.Second)
	}
	return 0
}

// quoteBody returns the start of an error answer's body, fit for an error:
// every token in it or in secrets replaced by [redact.Placeholder], control
// characters dropped, at most maxStatusQuote bytes.
func quoteBody(body []byte, secrets []string) string {
	s := redact.Scrub(string(body), append(bodySecrets(body), secrets...)...)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxStatusQuote {
		// Cut after scrubbing, so that no token is cut in two halves that
		// the scrub would no longer recognise.
		s = strings.ToValidUTF8(s[:maxStatusQuote], "") + "..."
	}
	return s
}

// bodySecrets returns what in a body may be a token: every JWT, every run
// of 32 or more characters of base64, base64url or hex (an opaque token),
// and the string value of every JSON key that names a token
// ("access_token", "value", "token", ...), found in broken JSON too.
func bodySecrets(body []byte) []string {
	s := string(body)
	secrets := jwtLike.FindAllString(s, -1)
	secrets = append(secrets, opaqueLike.FindAllString(s, -1)...)
	for _, m := range tokenFieldLike.FindAllStringSubmatch(s, -1) {
		secrets = append(secrets, m[1])
	}
	return secrets
}

var (
	// opaqueLike finds a run of token characters long enough to be an
	// opaque token. It leaves paths alone (no "/"), so an error that
	// quotes a URL path stays readable.
	opaqueLike = regexp.MustCompile(`[A-Za-z0-9_.~+=-]{32,}`)
	// tokenFieldLike finds the value of a JSON string field whose name
	// holds "token" or "secret", or is "value".
	tokenFieldLike = regexp.MustCompile(`(?i)"(?:[a-z_]*(?:token|secret)[a-z_]*|value)"\s*:\s*"((?:[^"\\]|\\.)*)"`)
)

// checkFetched refuses a token that holds whitespace or a control character
// (several lines, an HTML page) and one that expired at now. The error gives
// the byte offset or the expiry, never the content.
func checkFetched(tok Token, now time.Time) error {
	if tok.Value == "" {
		return ErrEmpty
	}
	for i, r := range tok.Value {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %U at byte offset %d; the answer must hold one token", ErrMalformed, r, i)
		}
	}
	if tok.Expired(now) {
		return fmt.Errorf("%w at %s: the server answered an expired token", errTokenExpired, tok.Expiry.UTC().Format(time.RFC3339))
	}
	return nil
}

// errTokenExpired is the cause of an answer whose token has already
// expired.
var errTokenExpired = errors.New("token expired")
