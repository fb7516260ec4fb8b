package deviceflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/internal/redact"
)

// deviceCodeGrant is the grant type of the device access token request
// (RFC 8628 §3.4).
const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// loginMu serializes device logins in this process, whatever the number of
// Sources, so that the user never sees two prompts at once. It is a
// semaphore rather than a flight: logins of different Sources share no
// result. Waiters give up with their ctx.
var loginMu = make(chan struct{}, 1)

// maxInterval caps the polling interval a server may ask for.
const maxInterval = 5 * time.Minute

// deviceLogin runs one device authorization grant: the device authorization
// request (RFC 8628 §3.1, §3.2), the prompt (§3.3) and the polling of the
// token endpoint (§3.4, §3.5). Only one device login runs at a time in the
// process ([loginMu]).
func (s *Source) deviceLogin(ctx context.Context) (*Tokens, error) {
	select {
	case loginMu <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-loginMu }()

	ep, err := s.endpoint(ctx)
	if err != nil {
		return nil, err
	}
	cfg := s.oauthConfig(ep)
	dctx, opts := s.deviceAuthRequest(ctx, ep)
	start := s.clk.Now()
	da, err := cfg.DeviceAuth(dctx, opts...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, s.tokenRequestError("device_authorization", err)
	}
	s.hold(da.DeviceCode)
	p, expiry, interval, err := s.checkDeviceAuth(da, start)
	if err != nil {
		return nil, err
	}
	s.log.Info("deviceflow: waiting for the user to approve the login", "issuer", s.issuer,
		"verification_uri", p.VerificationURI, "expiry", expiry, "interval", interval)

	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pw := &promptWatch{ch: make(chan error, 1)}
	go func(ch chan<- error) { ch <- s.prompt.Prompt(pctx, p) }(pw.ch)

	tok, err := s.poll(pctx, cfg, da.DeviceCode, interval, expiry, pw)
	cancel()
	if !pw.done { // let the prompt finish its output before returning
		pw.err = <-pw.ch
	}
	if err != nil {
		return nil, err
	}
	if pw.err != nil {
		s.log.Warn("deviceflow: prompt failed", "err", pw.err)
	}
	return s.fromOAuth2(tok, nil)
}

// deviceAuthRequest returns the context (carrying the HTTP client) and the
// parameters of the device authorization request: [Options] AuthParams,
// and the client authentication of a confidential client.
//
// RFC 8628 §3.1 applies RFC 6749 §2.3 client authentication to this request,
// and identity providers such as Okta and Keycloak answer invalid_client
// without it, but x/oauth2's DeviceAuth sends client_id only. So the secret
// goes as the client_secret parameter with [oauth2.AuthStyleInParams], and
// as HTTP Basic (client_secret_basic, RFC 6749 §2.3.1) with
// [oauth2.AuthStyleInHeader], added by the transport to this one request
// only: not to a redirect elsewhere, nor to any other request.
func (s *Source) deviceAuthRequest(ctx context.Context, ep oauth2.Endpoint) (context.Context, []oauth2.AuthCodeOption) {
	var opts []oauth2.AuthCodeOption
	for k := range s.authParams { // one value each, checked by New
		opts = append(opts, oauth2.SetAuthURLParam(k, s.authParams.Get(k)))
	}
	secret := s.secret.Reveal()
	if secret == "" {
		return s.httpContext(ctx), opts
	}
	if s.authStyle == oauth2.AuthStyleInParams {
		return s.httpContext(ctx), append(opts, oauth2.SetAuthURLParam("client_secret", secret))
	}
	target, err := url.Parse(ep.DeviceAuthURL)
	if err != nil { // checked by discovery
		return s.httpContext(ctx), opts
	}
	hc := *s.http
	hc.Transport = &basicAuthTransport{base: s.http.Transport, url: target.String(), id: s.clientID, secret: secret}
	return oidc.ClientContext(ctx, &hc), opts
}

// basicAuthTransport authenticates POST requests to one URL with HTTP Basic
// (RFC 6749 §2.3.1: both parts form-urlencoded first, as x/oauth2 does for
// the token endpoint).
type basicAuthTransport struct {
	base       http.RoundTripper
	url        string // the parsed and re-encoded device authorization URL
	id, secret string
}

func (t *basicAuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.URL.String() == t.url {
		req = req.Clone(req.Context())
		req.SetBasicAuth(url.QueryEscape(t.id), url.QueryEscape(t.secret))
	}
	return t.base.RoundTrip(req)
}

// checkDeviceAuth validates a device authorization response (RFC 8628 §3.2)
// and returns the prompt, the expiry of the device code on the Source's
// clock, and the polling interval.
func (s *Source) checkDeviceAuth(da *oauth2.DeviceAuthResponse, start time.Time) (Prompt, time.Time, time.Duration, error) {
	bad := func(what string) error {
		return fmt.Errorf("deviceflow: invalid device authorization response: %s (RFC 8628 §3.2)", what)
	}
	if da.DeviceCode == "" {
		return Prompt{}, time.Time{}, 0, bad("no device_code")
	}
	if strings.TrimSpace(da.UserCode) == "" {
		return Prompt{}, time.Time{}, 0, bad("no user_code")
	}
	if da.VerificationURI == "" {
		return Prompt{}, time.Time{}, 0, bad("no verification_uri")
	}
	// The URIs are scrubbed like any remote text: one that held the device
	// code would show it on the terminal. checkURL refuses control
	// characters.
	secrets := s.secrets()
	uri, complete := redact.Scrub(da.VerificationURI, secrets...), redact.Scrub(da.VerificationURIComplete, secrets...)
	if err := checkURL("verification_uri", uri); err != nil {
		return Prompt{}, time.Time{}, 0, err
	}
	if complete != "" {
		if err := checkURL("verification_uri_complete", complete); err != nil {
			s.log.Warn("deviceflow: ignoring verification_uri_complete", "err", err)
			complete = ""
		}
	}
	// x/oauth2 turned expires_in into a wall-clock time; take it back to a
	// duration, on the Source's clock.
	lifetime := defaultDeviceCodeLifetime
	if !da.Expiry.IsZero() {
		lifetime = time.Until(da.Expiry).Round(time.Second)
		if lifetime <= 0 {
			return Prompt{}, time.Time{}, 0, bad("expires_in is not positive")
		}
	}
	interval := defaultInterval
	if da.Interval > 0 {
		interval = time.Duration(min(da.Interval, int64(maxInterval/time.Second))) * time.Second
	}
	expiry := start.Add(lifetime)
	p := Prompt{
		VerificationURI:         sanitizeURL(uri),
		VerificationURIComplete: sanitizeURL(complete),
		UserCode:                sanitize(da.UserCode, 64),
		Expiry:                  expiry,
		Interval:                interval,
	}
	return p, expiry, interval, nil
}

// sanitizeURL re-encodes a checked URL so that it holds no control or
// non-ASCII characters a terminal would interpret.
func sanitizeURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return sanitize(raw, 2048)
	}
	return sanitize(u.String(), 2048)
}

// promptWatch follows the goroutine that runs the [Prompter].
type promptWatch struct {
	ch   chan error // receives the result of Prompt
	done bool       // the result was received
	err  error      // the result, once done
}

// poll polls the token endpoint with the device code until the user
// approves (the token), denies (access_denied) or the code expires
// (expired_token, or expiry passes on the Source's clock), or ctx is done.
//
// The first request goes out at once, not after a whole interval
// (golang/oauth2#775). Then, per RFC 8628 §3.5: authorization_pending waits
// interval; slow_down adds 5 seconds to the interval, for this and every
// later request. A network error, an HTTP 5xx, 429 or 408, or the error
// codes server_error and temporarily_unavailable wait interval plus a
// capped, jittered exponential backoff and try again, until the code
// expires.
//
// A prompt that fails ends the polling with its error.
func (s *Source) poll(ctx context.Context, cfg *oauth2.Config, deviceCode string, interval time.Duration, expiry time.Time, pw *promptWatch) (*oauth2.Token, error) {
	hctx := s.httpContext(ctx)
	var lastErr error
	failures := 0
	for {
		// Exchange with an empty code sends "code=", which RFC 6749 §3.2
		// says servers treat as absent: x/oauth2 has no exported way to
		// send one device access token request (RFC 8628 §3.4).
		tok, err := cfg.Exchange(hctx, "",
			oauth2.SetAuthURLParam("grant_type", deviceCodeGrant),
			oauth2.SetAuthURLParam("device_code", deviceCode))
		if err == nil {
			return tok, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		err = s.remote(err) // for the errors and logs below
		wait := interval
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			re = nil
		}
		code := ""
		if re != nil {
			code = re.ErrorCode
		}
		switch {
		case code == codeAuthorizationPending:
			failures = 0
		case code == codeSlowDown:
			// RFC 8628 §3.5: "the interval MUST be increased by 5 seconds
			// for this and all subsequent requests".
			failures = 0
			interval = min(interval+slowDownStep, maxInterval)
			wait = interval
			s.log.Debug("deviceflow: slow_down", "interval", interval)
		case code == codeAccessDenied, code == codeExpiredToken:
			return nil, newTokenError("device_code", re)
		case transient(err, re):
			wait = interval + s.pollBackoff.Delay(failures)
			failures++
			lastErr = err
			s.log.Debug("deviceflow: token endpoint unavailable; retrying", "err", describe(err), "wait", wait)
		default:
			return nil, s.tokenRequestError("device_code", err)
		}

		now := s.clk.Now()
		if !now.Before(expiry) {
			return nil, expiredError(lastErr)
		}
		if left := expiry.Sub(now); wait > left {
			wait = left
		}
		if err := s.wait(ctx, wait, pw); err != nil {
			return nil, err
		}
		if !s.clk.Now().Before(expiry) {
			return nil, expiredError(lastErr)
		}
	}
}

// wait waits for d on the Source's clock, or until ctx is done or the
// prompt fails.
func (s *Source) wait(ctx context.Context, d time.Duration, pw *promptWatch) error {
	timer := s.clk.NewTimer(d)
	defer timer.Stop()
	for {
		var ch <-chan error
		if !pw.done {
			ch = pw.ch
		}
		select {
		case <-timer.C():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case e := <-ch:
			pw.done, pw.err = true, e
			if e != nil {
				return fmt.Errorf("deviceflow: prompt: %w", e)
			}
		}
	}
}

// transient reports whether a failed token request may succeed if repeated:
// a transport error; the error codes server_error or temporarily_unavailable
// (RFC 6749 §4.1.2.1); or an HTTP 5xx, 429 or 408 without an error code.
func transient(err error, re *oauth2.RetrieveError) bool {
	var insecure *insecureURLError
	if errors.As(err, &insecure) || errors.Is(err, errResponseTooLarge) {
		return false
	}
	if re != nil {
		switch re.ErrorCode {
		case "server_error", "temporarily_unavailable":
			return true
		case "":
		default:
			return false
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return status >= 500 || status == 429 || status == 408
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return true
	}
	// x/oauth2 reports a body cut short by the network as text only.
	return strings.HasPrefix(err.Error(), "oauth2: cannot fetch token:")
}

// expiredError is the error of a device code whose lifetime passed while
// polling (RFC 8628 §3.2 expires_in).
func expiredError(lastErr error) error {
	return &TokenError{
		Grant:            "device_code",
		ErrorCode:        codeExpiredToken,
		ErrorDescription: "the device code's lifetime (expires_in) passed",
		Err:              lastErr,
	}
}
