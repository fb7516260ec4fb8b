package deviceflow

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/awsoidc/awsoidc/clock"
)

func TestDiscoveryFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*fakeIdP)
		check func(*testing.T, error)
	}{
		{"insecure token endpoint", func(i *fakeIdP) { i.tokenEndpoint = "http://idp.example.com/token" }, func(t *testing.T, err error) {
			var ie *insecureURLError
			if !errors.As(err, &ie) || ie.what != "token_endpoint" {
				t.Errorf("err = %v, want an insecureURLError on token_endpoint", err)
			}
		}},
		{"no device endpoint", func(i *fakeIdP) { i.noDeviceEndpoint = true }, func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "device_authorization_endpoint") || !strings.Contains(err.Error(), "RFC 8628") {
				t.Errorf("err = %v", err)
			}
		}},
		{"oversized document", func(i *fakeIdP) { i.discoveryPad = maxResponseSize }, func(t *testing.T, err error) {
			if !errors.Is(err, errResponseTooLarge) {
				t.Errorf("err = %v, want the size cap", err)
			}
		}},
		{"server error", func(i *fakeIdP) { i.discoveryStatus = 500 }, func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "500") {
				t.Errorf("err = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			idp := newFakeIdP(t, clk)
			idp.set(tt.setup)
			src, _, _ := newTestSource(t, idp, clk)
			_, err := src.Token(testCtx(t))
			if err == nil || !strings.HasPrefix(err.Error(), "deviceflow: discovery of "+idp.issuer()+"/.well-known/openid-configuration: ") {
				t.Fatalf("err = %v, want a discovery error", err)
			}
			tt.check(t, err)
			if len(err.Error()) > 600 {
				t.Errorf("message too long: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestDiscoveryRetriedAfterFailure(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	idp.set(func(i *fakeIdP) { i.discoveryStatus = 503 })
	src, rec, _ := newTestSource(t, idp, clk)
	if _, err := src.Token(testCtx(t)); err == nil {
		t.Fatal("want an error")
	}
	idp.set(func(i *fakeIdP) { i.discoveryStatus = 0 })
	res := tokenAsync(testCtx(t), src)
	p := rec.next(t)
	waitTimer(t, clk)
	idp.approve(p.UserCode)
	fire(t, clk)
	if r := await(t, res); r.err != nil {
		t.Fatal(r.err)
	}
	if n := idp.count("discovery"); n != 2 {
		t.Errorf("discovery requests = %d, want 2", n)
	}
}

func TestDeviceAuthResponseChecks(t *testing.T) {
	tests := []struct {
		name     string
		override map[string]any
		wantErr  string
		check    func(*testing.T, Prompt)
	}{
		{"javascript verification uri", map[string]any{"verification_uri": "javascript:alert(1)"}, "verification_uri", nil},
		{"http verification uri", map[string]any{"verification_uri": "http://idp.example.com/device"}, "verification_uri", nil},
		{"no device code", map[string]any{"device_code": nil}, "device_code", nil},
		{"no user code", map[string]any{"user_code": nil}, "user_code", nil},
		{"insecure complete uri is dropped", map[string]any{"verification_uri_complete": "http://evil.example/x"}, "", func(t *testing.T, p Prompt) {
			if p.VerificationURIComplete != "" {
				t.Errorf("complete URI = %q", p.VerificationURIComplete)
			}
		}},
		{"escape sequences are stripped", map[string]any{"user_code": "AB\x1b]0;pwned\x07CD"}, "", func(t *testing.T, p Prompt) {
			if strings.ContainsAny(p.UserCode, "\x1b\x07") {
				t.Errorf("user code = %q", p.UserCode)
			}
		}},
		{"huge interval is capped", map[string]any{"interval": 1 << 40}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			idp := newFakeIdP(t, clk)
			idp.set(func(i *fakeIdP) { i.deviceOverride = tt.override })
			src, rec, _ := newTestSource(t, idp, clk)
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			res := tokenAsync(ctx, src)
			if tt.wantErr != "" {
				r := await(t, res)
				if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to name %s", r.err, tt.wantErr)
				}
				if n := idp.count("device_code"); n != 0 {
					t.Errorf("polled %d times after a bad response", n)
				}
				return
			}
			p := rec.next(t)
			if d := waitTimer(t, clk); d > maxInterval {
				t.Errorf("wait = %v", d)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
			cancel()
			await(t, res)
		})
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestGuardTransport(t *testing.T) {
	called := 0
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		called++
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", maxResponseSize+10))), Request: r}, nil
	})
	c := guardClient(&http.Client{Transport: base})
	for _, u := range []string{"http://idp.example.com/x", "http://10.0.0.1/x", "ftp://idp.example.com/x"} {
		resp, err := c.Get(u)
		if err == nil {
			_ = resp.Body.Close()
		}
		var ie *insecureURLError
		if !errors.As(err, &ie) {
			t.Errorf("GET %s: %v, want insecureURLError", u, err)
		}
	}
	if called != 0 {
		t.Fatalf("an insecure request reached the transport")
	}
	resp, err := c.Get("https://idp.example.com/big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if !errors.Is(err, errResponseTooLarge) || len(data) != maxResponseSize {
		t.Fatalf("read %d bytes, err %v", len(data), err)
	}
	// Exactly at the limit is fine.
	base2 := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", maxResponseSize))), Request: r}, nil
	})
	resp2, err := guardClient(&http.Client{Transport: base2}).Get("https://idp.example.com/ok")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if data, err := io.ReadAll(resp2.Body); err != nil || len(data) != maxResponseSize {
		t.Fatalf("read %d, %v", len(data), err)
	}
}

func TestRedirectToInsecureRefused(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	mux := idp.srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("GET /moved/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://idp.example.com/.well-known/openid-configuration", http.StatusFound)
	})
	src, err := New(idp.issuer()+"/moved", testClientID, func(o *Options) {
		o.Store = newMemStore()
		o.HTTPClient = idp.srv.Client()
		o.Interactive = true
	})
	if err != nil {
		t.Fatal(err)
	}
	src.clk = clk
	_, err = src.Token(testCtx(t))
	var ie *insecureURLError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want insecureURLError", err)
	}
}

func TestDiscoveryCancelled(t *testing.T) {
	clk := clock.NewFake(t0)
	idp := newFakeIdP(t, clk)
	release := make(chan struct{})
	mux := idp.srv.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("GET /slow/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	src, err := New(idp.issuer()+"/slow", testClientID, func(o *Options) {
		o.Store = newMemStore()
		o.HTTPClient = idp.srv.Client()
		o.Interactive = true
	})
	if err != nil {
		t.Fatal(err)
	}
	src.clk = clk
	ctx, cancel := context.WithCancel(testCtx(t))
	res := tokenAsync(ctx, src)
	cancel()
	if r := await(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
}
