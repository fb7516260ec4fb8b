package tokensource_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

// Helpers of the tests of the sources that fetch over HTTP.

// farFuture is the expiry of the tokens the fake providers answer.
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// sourceEnv lists every variable that an HTTP source or Detect reads.
var sourceEnv = []string{
	"AWS_WEB_IDENTITY_TOKEN_FILE", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
	"AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID", "GCE_METADATA_HOST",
}

// clearSourceEnv empties every variable in sourceEnv for the test (the
// sources treat an empty variable as unset).
func clearSourceEnv(t *testing.T) {
	t.Helper()
	for _, k := range sourceEnv {
		t.Setenv(k, "")
	}
}

// seen records the requests a fake provider received.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r.Clone(context.Background()))
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *seen) last(t *testing.T) *http.Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("the server received no request")
	}
	return s.reqs[len(s.reqs)-1]
}

// fakeServer starts an httptest server with h, recording each request.
func fakeServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *seen) {
	t.Helper()
	rec := new(seen)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// linkLocalClient returns a client that sends every request, whatever its
// host (169.254.169.254 above all), to srv: the request keeps its URL and
// Host header, only the connection goes to the test server.
func linkLocalClient(srv *httptest.Server) *http.Client {
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// refusedClient returns a client whose every connection is refused at once.
func refusedClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connection refused")}
		},
	}}
}

// withClient sets HTTPOptions.Client.
func withClient(c *http.Client) func(*tokensource.HTTPOptions) {
	return func(o *tokensource.HTTPOptions) { o.Client = c }
}

// assertNoLeak fails when err, formatted every way, shows any secret.
func assertNoLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", err)} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the error shows a secret %q…: %s", s[:min(len(s), 12)], text)
			}
		}
	}
}
