package jwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestClaims(t *testing.T) {
	header := enc(`{"alg":"RS256"}`)
	tests := []struct {
		name, token, sub string
		ok               bool
	}{
		{"JWT", header + "." + enc(`{"sub":"a"}`) + ".sig", "a", true},
		{"no signature", header + "." + enc(`{"sub":"a"}`) + ".", "a", true},
		{"padded segments", enc(`{"alg":"RS256"}`) + "==." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"ab"}`)) + ".sig", "ab", true},
		{"whitespace around the object", header + "." + enc(" {\"sub\":\"a\"}\n") + ".sig", "a", true},
		{"empty", "", "", false},
		{"opaque", "Atza|IQEBLjAsAhRmHjNgHpi0U", "", false},
		{"two segments", header + "." + enc(`{"sub":"a"}`), "", false},
		{"JWE", header + ".a.b.c.d", "", false},
		{"header not base64url", "!!." + enc(`{"sub":"a"}`) + ".sig", "", false},
		{"header not JSON", enc("alg") + "." + enc(`{"sub":"a"}`) + ".sig", "", false},
		{"payload standard base64", header + ".eyJzdWIiOiJhIn0+/.sig", "", false},
		{"payload not JSON", header + "." + enc("sub=a") + ".sig", "", false},
		{"payload an array", header + "." + enc(`[{"sub":"a"}]`) + ".sig", "", false},
		{"payload truncated", header + "." + enc(`{"sub":"a"`) + ".sig", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var claims map[string]json.RawMessage
			err := Claims(tt.token, &claims)
			if (err == nil) != tt.ok {
				t.Fatalf("Claims() = %v, want ok %t", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrNotJWT) || !strings.HasPrefix(err.Error(), "not a JWT: ") {
					t.Errorf("error %q does not wrap ErrNotJWT", err)
				}
				if tt.token != "" && strings.Contains(err.Error(), tt.token) {
					t.Errorf("error %q contains the token", err)
				}
				return
			}
			if got := string(claims["sub"]); got != `"`+tt.sub+`"` {
				t.Errorf("sub = %s, want %q", got, tt.sub)
			}
		})
	}
}
