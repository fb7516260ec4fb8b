package deviceflow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/clock"
)

// FuzzParseTokenResponse feeds arbitrary token endpoint responses (status,
// content type, body) through x/oauth2 and this package's conversion, as a
// device access token response (RFC 8628 §3.5) and as a refresh response:
// nothing panics, errors never quote the body, and what is accepted
// round-trips through the store format.
func FuzzParseTokenResponse(f *testing.F) {
	jwt := idToken("https://idp.example.com", "user-1", t0.Add(time.Hour))
	f.Add(200, "application/json", []byte(`{"access_token":"a","token_type":"Bearer","expires_in":300,"refresh_token":"r","id_token":"`+jwt+`"}`))
	f.Add(200, "application/json", []byte(`{"access_token":"a","expires_in":"300","id_token":"x.y.z"}`))
	f.Add(200, "application/x-www-form-urlencoded", []byte("access_token=a&refresh_token=r&id_token="+jwt+"&expires_in=60"))
	f.Add(400, "application/json", []byte(`{"error":"authorization_pending"}`))
	f.Add(400, "application/json", []byte(`{"error":"slow_down","error_description":"\u001b[31m"}`))
	f.Add(400, "text/plain", []byte("error=access_denied&error_description=no"))
	f.Add(503, "text/html", []byte("<html>down</html>"))
	f.Add(200, "application/json", []byte(`{"access_token":"","id_token":null}`))
	f.Add(200, "application/json", []byte(`{"access_token":"a","expires_in":9223372036854775807,"id_token":"`+jwt+`"}`))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("Content-Type", contentType)
			return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})
		for _, useAccess := range []bool{false, true} {
			src, err := New("https://idp.example.com", testClientID, func(o *Options) {
				o.Store = newMemStore()
				o.HTTPClient = &http.Client{Transport: rt}
				o.UseAccessToken = useAccess
			})
			if err != nil {
				t.Fatal(err)
			}
			src.clk = clock.NewFake(t0)
			cfg := src.oauthConfig(oauth2.Endpoint{TokenURL: "https://idp.example.com/token", AuthStyle: oauth2.AuthStyleInParams})
			tok, err := cfg.Exchange(src.httpContext(context.Background()), "",
				oauth2.SetAuthURLParam("grant_type", deviceCodeGrant), oauth2.SetAuthURLParam("device_code", "d"))
			if err != nil {
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) {
					re = nil
				}
				_ = transient(err, re)
				msg := src.tokenRequestError("device_code", err).Error()
				if len(body) > 16 && strings.Contains(msg, string(body)) {
					t.Fatalf("message quotes the body: %q", msg)
				}
				continue
			}
			for _, prev := range []*Tokens{nil, sampleTokens()} {
				got, err := src.fromOAuth2(tok, prev)
				if err != nil {
					continue
				}
				if !useAccess && got.IDToken == "" {
					t.Fatal("accepted a response without an ID token")
				}
				data, err := encodeTokens(got)
				if err != nil {
					continue // a time out of JSON's range
				}
				back, err := decodeTokens(data)
				if err != nil {
					if got.IDToken == "" && got.AccessToken == "" && got.RefreshToken == "" {
						continue
					}
					t.Fatalf("decode(encode()) = %v", err)
				}
				if back.IDToken != got.IDToken || back.RefreshToken != got.RefreshToken || !back.IDTokenExpiry.Equal(got.IDTokenExpiry) {
					t.Fatal("round trip changed the tokens")
				}
				_ = src.usable(got, t0)
			}
		}
	})
}

// FuzzDecodeTokens feeds arbitrary files to the store decoder: it never
// panics, never quotes its input in an error, and what it accepts
// re-encodes to the same tokens.
func FuzzDecodeTokens(f *testing.F) {
	valid, _ := encodeTokens(sampleTokens())
	f.Add(valid)
	f.Add([]byte(`{"version":1,"issuer":"i","client_id":"c","refresh_token":"r"}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"issuer":"i","client_id":"c","refresh_token":"r","obtained":"secret-looking-value"}`))
	f.Add([]byte(`{"version":1,"issuer":"i","client_id":"c","id_token":1}`))
	f.Add([]byte(``))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeTokens(data)
		if err != nil {
			if len(data) >= 8 && strings.Contains(err.Error(), string(data)) {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		again, err := encodeTokens(got)
		if err != nil {
			return // e.g. a year outside JSON's range
		}
		back, err := decodeTokens(again)
		if err != nil || back.RefreshToken != got.RefreshToken || back.IDToken != got.IDToken ||
			back.AccessToken != got.AccessToken || !back.Obtained.Equal(got.Obtained) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
