package tokensource_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/tokensource"
)

func TestParseExpiry(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256"}`))
	tests := []struct {
		name    string
		token   string
		want    time.Time
		wantErr error
	}{
		{"integer exp", makeJWT(`{"exp":1767323045}`), time.Unix(1767323045, 0), nil},
		{"fractional exp", makeJWT(`{"exp":1767323045.5}`), time.Unix(1767323045, 5e8), nil},
		{"exponent notation", makeJWT(`{"exp":1.767323045e9}`), time.Unix(1767323045, 0), nil},
		{"exp zero is the epoch", makeJWT(`{"exp":0}`), time.Unix(0, 0), nil},
		{"largest exp", makeJWT(`{"exp":253402300799}`), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), nil},
		{"padded segments", header + "=." + enc([]byte(`{"exp":10}`)) + "==.sig", time.Unix(10, 0), nil},
		{"unsecured JWT, empty signature", header + "." + enc([]byte(`{"exp":10}`)) + ".", time.Unix(10, 0), nil},
		{"whitespace in JSON", makeJWT(" \n{ \"exp\" : 10 }\n"), time.Unix(10, 0), nil},
		{"other claims ignored", makeJWT(`{"sub":"x","nested":{"exp":"no"},"exp":10,"aud":["a","b"]}`), time.Unix(10, 0), nil},

		{"empty", "", time.Time{}, tokensource.ErrNotJWT},
		{"opaque access token", "Atza|IQEBLjAsAhRmHjNgHpi0U", time.Time{}, tokensource.ErrNotJWT},
		{"two segments", header + "." + enc([]byte(`{"exp":10}`)), time.Time{}, tokensource.ErrNotJWT},
		{"JWE has five segments", header + ".a.b.c.d", time.Time{}, tokensource.ErrNotJWT},
		{"header not base64url", "!!." + enc([]byte(`{"exp":10}`)) + ".sig", time.Time{}, tokensource.ErrNotJWT},
		{"header not JSON", enc([]byte("alg")) + "." + enc([]byte(`{"exp":10}`)) + ".sig", time.Time{}, tokensource.ErrNotJWT},
		{"payload standard base64", header + ".eyJleHAiOjEwfQ+/.sig", time.Time{}, tokensource.ErrNotJWT},
		{"payload not JSON", header + "." + enc([]byte("exp=10")) + ".sig", time.Time{}, tokensource.ErrNotJWT},
		{"payload JSON array", makeJWT(`[{"exp":10}]`), time.Time{}, tokensource.ErrNotJWT},
		{"payload JSON null", makeJWT(`null`), time.Time{}, tokensource.ErrNotJWT},
		{"payload truncated", makeJWT(`{"exp":10`), time.Time{}, tokensource.ErrNotJWT},

		{"no exp", makeJWT(`{"sub":"x"}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp null", makeJWT(`{"exp":null}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp is case-sensitive", makeJWT(`{"EXP":10}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp string", makeJWT(`{"exp":"1767323045"}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp bool", makeJWT(`{"exp":true}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp object", makeJWT(`{"exp":{}}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp negative", makeJWT(`{"exp":-1}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp negative fraction", makeJWT(`{"exp":-0.5}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp after year 9999", makeJWT(`{"exp":253402300800}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp overflows int64", makeJWT(`{"exp":99999999999999999999}`), time.Time{}, tokensource.ErrNoExpiry},
		{"exp overflows float64", makeJWT(`{"exp":1e400}`), time.Time{}, tokensource.ErrNoExpiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokensource.ParseExpiry(tt.token)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("ParseExpiry() error = %v, want %v", err, tt.wantErr)
			}
			if !got.Equal(tt.want) || (!tt.want.IsZero() && got.Location() != time.UTC) || (tt.want.IsZero() && !got.IsZero()) {
				t.Fatalf("ParseExpiry() = %v, want %v (UTC)", got, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "tokensource: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// parseExpiryMessages is every error text ParseExpiry may return: a fixed
// set, which proves that no part of the token reaches the message.
var parseExpiryMessages = map[string]bool{
	"tokensource: not a JWT: want three dot-separated segments":       true,
	"tokensource: not a JWT: header is not base64url-encoded JSON":    true,
	"tokensource: not a JWT: payload is not base64url-encoded":        true,
	"tokensource: not a JWT: payload is not a JSON object":            true,
	`tokensource: JWT has no usable "exp" claim: no exp claim`:        true,
	`tokensource: JWT has no usable "exp" claim: exp is not a number`: true,
	`tokensource: JWT has no usable "exp" claim: exp is out of range`: true,
}

// FuzzParseExpiry checks that ParseExpiry never panics, returns either a time
// in [epoch, 9999-12-31] in UTC or the zero time with one of its two
// sentinels, and never puts the token in an error. The seed corpus is in
// testdata/fuzz/FuzzParseExpiry; run it longer with
//
//	go test -fuzz=FuzzParseExpiry -fuzztime=30s ./tokensource/
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{
		"",
		"a.b.c",
		makeJWT(`{"exp":1767323045}`),
		makeJWT(`{"exp":1767323045.25}`),
		makeJWT(`{"exp":"soon"}`),
		makeJWT(`{}`),
	} {
		f.Add(s)
	}
	min, max := time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	f.Fuzz(func(t *testing.T, token string) {
		got, err := tokensource.ParseExpiry(token)
		if err != nil {
			if !got.IsZero() {
				t.Errorf("ParseExpiry() = %v with error %v; want the zero time", got, err)
			}
			if !errors.Is(err, tokensource.ErrNotJWT) && !errors.Is(err, tokensource.ErrNoExpiry) {
				t.Errorf("ParseExpiry() error %v wraps neither ErrNotJWT nor ErrNoExpiry", err)
			}
			if !parseExpiryMessages[err.Error()] {
				t.Errorf("ParseExpiry() error %q is not one of the fixed messages", err)
			}
			return
		}
		if got.Location() != time.UTC || got.Before(min) || got.After(max) {
			t.Errorf("ParseExpiry() = %v, want a UTC time in [%v, %v]", got, min, max)
		}
		if strings.Count(token, ".") != 2 {
			t.Errorf("ParseExpiry() accepted %d dots", strings.Count(token, "."))
		}
	})
}
