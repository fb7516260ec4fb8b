package ststest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"weak"
)

// inMemory holds the transport that each Server fetches its own issuer's
// keys through once [Server.Transport] was called.
var inMemory sync.Map // weak.Pointer[Server] -> *memTransport

// memTransport serves requests for one server's origin by calling its
// handler in the caller's goroutine.
type memTransport struct {
	h    http.Handler
	host string // the server's host:port
}

// Transport returns an [http.RoundTripper] that serves requests for the
// server's URL in memory: it calls the server's handler in the goroutine of
// the request, with no socket. Use it where a socket must not be opened,
// such as inside a testing/synctest bubble, whose virtual clock stands
// still while a goroutine waits on the network:
//
//	client := s.STSClient(func(o *sts.Options) {
//		o.HTTPClient = &http.Client{Transport: s.Transport()}
//	})
//
// Requests for any other host fail. A [Fault] with Reset fails the round
// trip with an error, as a reset connection does. Once Transport has been
// called, the server (without [Options.TLS]) also fetches its own issuer's
// discovery document and keys in memory, through [Server.HTTPClient].
func (s *Server) Transport() http.RoundTripper {
	u, err := url.Parse(s.URL())
	if err != nil {
		panic(fmt.Sprintf("ststest: server URL: %v", err))
	}
	v, loaded := inMemory.LoadOrStore(weak.Make(s), &memTransport{h: s.routes(), host: u.Host})
	t := v.(*memTransport)
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { inMemory.Delete(k) }, weak.Make(s))
		if ht, ok := s.client.Transport.(*http.Transport); ok && !s.opts.TLS {
			ht.RegisterProtocol("http", ownOrigin{t})
		}
	}
	return t
}

// RoundTrip implements [http.RoundTripper].
func (t *memTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	if req.Body != nil {
		defer func() { _ = req.Body.Close() }()
	}
	if req.URL.Host != t.host {
		return nil, fmt.Errorf("ststest: Transport serves %s, not %s", t.host, req.URL.Host)
	}
	sr := req.Clone(req.Context())
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked, not wrapped
				panic(v)
			}
			resp, err = nil, errAborted
		}
	}()
	t.h.ServeHTTP(rec, sr)
	resp = rec.Result()
	resp.Request = req
	return resp, nil
}

// errAborted is the error of a round trip whose handler dropped the
// connection (a Fault with Reset).
var errAborted = errors.New("ststest: connection reset by the server")

// ownOrigin is memTransport as an alternate protocol of the server's own
// HTTP client: requests for other hosts take the client's usual way.
type ownOrigin struct{ t *memTransport }

func (o ownOrigin) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != o.t.host {
		return nil, http.ErrSkipAltProtocol
	}
	return o.t.RoundTrip(req)
}
