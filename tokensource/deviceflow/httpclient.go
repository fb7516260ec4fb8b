package deviceflow

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// errResponseTooLarge is returned while reading a response body longer than
// [MaxResponseSize].
var errResponseTooLarge = fmt.Errorf("deviceflow: response body larger than %d bytes", MaxResponseSize)

// guardClient returns a copy of hc (or of a default client) whose transport
// refuses insecure URLs and caps response bodies. Every request of the
// device flow, redirects included, goes through it.
func guardClient(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		c.Timeout = defaultHTTPTimeout
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &guardTransport{base: base}
	return &c
}

// guardTransport refuses requests to URLs that are neither https nor http
// on loopback, and caps response bodies at [MaxResponseSize].
type guardTransport struct {
	base http.RoundTripper
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !secureURL(req.URL) {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, &InsecureURLError{What: "request", URL: safeURL(req.URL)}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, n: MaxResponseSize}
	return resp, nil
}

// safeURL returns u without user info, query or fragment, for messages.
func safeURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return v.String()
}

// limitedBody returns errResponseTooLarge instead of reading past n bytes.
type limitedBody struct {
	rc io.ReadCloser
	n  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
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

func (b *limitedBody) Close() error { return b.rc.Close() }

// cleanError wraps an error from a library that may quote a response body
// (go-oidc does, for a failed discovery): its message is stripped of control
// characters and truncated.
type cleanError struct{ err error }

func (e cleanError) Error() string { return sanitize(e.err.Error(), 300) }
func (e cleanError) Unwrap() error { return e.err }
