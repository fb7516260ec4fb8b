package tokensource

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
)

// FuzzParseExecOutput: any output of a command gives a token that is one
// word without control characters, or an error that quotes neither the
// output nor the token of its JSON form.
func FuzzParseExecOutput(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln\n")
	f.Add(`{"token":"opaque-token-value","expiration":"2026-12-04T13:00:00Z"}`)
	f.Add(`{"token":"secret-token-value","expiration":"not a time"}`)
	f.Add(`{"token":"secret token value"}`)
	f.Add(`{"token":12345678901234}`)
	f.Add("secret-token\nsecond-line-secret")
	f.Fuzz(func(t *testing.T, out string) {
		tok, err := parseExecOutput(out)
		if err != nil {
			secrets := []string{strings.TrimSpace(out)}
			var j map[string]any
			if json.Unmarshal([]byte(out), &j) == nil {
				if s, ok := j["token"].(string); ok {
					secrets = append(secrets, s, strings.TrimSpace(s))
				}
			}
			// The message's own examples are not the output.
			msg := strings.NewReplacer(`{"token": "...", "expiration": "RFC 3339 time"}`, "", "2026-12-04T13:00:00Z", "").Replace(err.Error())
			for _, s := range secrets {
				if len(s) >= 8 && strings.Contains(msg, s) {
					t.Fatalf("the error %q quotes the output %q", err, s)
				}
			}
			return
		}
		if tok.Value == "" || strings.IndexFunc(tok.Value, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("token %q from %q", tok.Value, out)
		}
	})
}
