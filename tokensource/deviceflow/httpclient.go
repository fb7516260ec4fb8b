package deviceflow

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// errResponseTooLarge is returned while reading a response body longer than
// [maxResponseSize].
var errResponseTooLarge = fmt.Errorf("deviceflow: response body larger than %d bytes", maxResponseSize)

// guardClient returns a copy of hc (or of a default client) whose transport
// refuses insecure URLs and caps response bodies. Every request of the
// device flow, redirects included, goes through it.
//
// The default client bounds each request by [defaultHTTPTimeout] in the
// transport, through the request's context, rather than with
// http.Client.Timeout: the client's timer goroutine lives until the body is
// closed, and x/oauth2's DeviceAuth never closes it. A caller's own client
// keeps its own Timeout.
func guardClient(hc *http.Client) *http.Client {
	var c http.Client
	var timeout time.Duration
	if hc != nil {
		c = *hc
	} else {
		timeout = defaultHTTPTimeout
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &guardTransport{base: base, timeout: timeout}
	return &c
}

// guardTransport refuses requests to URLs that are neither https nor http
// on loopback, caps response bodies at [maxResponseSize] and, when timeout
// is set, bounds each request and the reading of its body by it.
type guardTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !secureURL(req.URL) {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, &insecureURLError{what: "request", url: safeURL(req.URL)}
	}
	cancel := context.CancelFunc(func() {})
	if t.timeout > 0 {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
		req = req.WithContext(ctx)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, n: maxResponseSize, done: cancel}
	return resp, nil
}

// safeURL returns u without user info, query or fragment, for messages.
func safeURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return v.String()
}

// limitedBody returns errResponseTooLarge instead of reading past n bytes,
// and closes the underlying body as soon as a read fails or reaches its end.
//
// The early close is for golang.org/x/oauth2 (v0.38.0), whose DeviceAuth
// reads the device authorization response and never closes it: with a client
// timeout set, net/http's cancel goroutine would outlive every login.
type limitedBody struct {
	rc     io.ReadCloser
	n      int64
	done   func() // called once the body is closed; may be nil
	closed bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.read(p)
	if err != nil && !b.closed {
		_ = b.Close()
	}
	return n, err
}

func (b *limitedBody) read(p []byte) (int, error) {
	if b.closed {
		return 0, io.EOF
	}
	if b.n <= 0 {
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.rc.Read(p)
	b.n -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	err := b.rc.Close()
	if b.done != nil {
		b.done()
	}
	return err
}
