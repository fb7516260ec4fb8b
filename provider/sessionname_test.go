package provider

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func token(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

func TestDefaultSessionName(t *testing.T) {
	tests := []struct {
		name, token, host, want string
	}{
		{"kubernetes subject", token(t, map[string]any{"sub": "system:serviceaccount:prod:billing"}), "pod-1", "system-serviceaccount-prod-billing"},
		{"github actions subject", token(t, map[string]any{"sub": "repo:octo-org/octo-repo:ref:refs/heads/main"}), "runner", "repo-octo-org-octo-repo-ref-refs-heads-main"},
		{"opaque id", token(t, map[string]any{"sub": "1234567890"}), "host", "1234567890"},
		{"email subject", token(t, map[string]any{"sub": "jane.doe@example.com"}), "laptop.local", "laptop.local"},
		{"encoded email", token(t, map[string]any{"sub": "jane%40example.com"}), "laptop", "laptop"},
		{"long subject cut to 64", token(t, map[string]any{"sub": strings.Repeat("s", 100)}), "h", strings.Repeat("s", 64)},
		{"subject of one character", token(t, map[string]any{"sub": "x"}), "host-a", "host-a"},
		{"subject of symbols only", token(t, map[string]any{"sub": "::::"}), "host-b", "host-b"},
		{"non-string subject", token(t, map[string]any{"sub": 42}), "host-c", "host-c"},
		{"no subject", token(t, map[string]any{"aud": "x"}), "host-d", "host-d"},
		{"not a JWT", "opaque-access-token", "host_e", "host_e"},
		{"bad base64", "a.%%%.c", "host-f", "host-f"},
		{"bad JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("{")) + ".c", "host-g", "host-g"},
		{"padded payload", "a." + base64.URLEncoding.EncodeToString([]byte(`{"sub":"padded-subject"}`)) + ".c", "h", "padded-subject"},
		{"unicode subject", token(t, map[string]any{"sub": "usér/ñame"}), "h", "us-r--ame"},
		{"host name sanitized", "", "my host!", "my-host"},
		{"nothing usable", "", "", FallbackSessionName},
		{"host of one character", "", "h", FallbackSessionName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultSessionName(tt.token, tt.host)
			if got != tt.want {
				t.Fatalf("DefaultSessionName() = %q, want %q", got, tt.want)
			}
			var v validator
			v.sessionName("name", got)
			if len(v.errs) != 0 {
				t.Fatalf("default name %q fails validation: %v", got, v.errs[0])
			}
		})
	}
}

func TestPackedPercent(t *testing.T) {
	for msg, want := range map[string]int{
		"Packed policy consumes 107% of allotted space, please use smaller policy.": 107,
		"PackedPolicyTooLarge: 98 % of the limit":                                   98,
		"no number here":                 0,
		"overflow 99999999999999999999%": 0,
	} {
		if got := packedPercent(msg); got != want {
			t.Errorf("packedPercent(%q) = %d, want %d", msg, got, want)
		}
	}
}

func TestScrubAndShorten(t *testing.T) {
	if got := scrub("a TOKEN b TOKEN", "TOKEN"); got != "a [REDACTED] b [REDACTED]" {
		t.Errorf("scrub() = %q", got)
	}
	if got := scrub("abc", ""); got != "abc" {
		t.Errorf("scrub with empty secret = %q", got)
	}
	long := strings.Repeat("é", 100)
	got := shorten(long)
	if !strings.HasSuffix(got, "…(200 bytes)") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…(200 bytes)")) {
		t.Errorf("shorten() = %q", got)
	}
}

func TestAccountID(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/r/s": "123456789012",
		"arn:minio:iam:::role/x":                     "",
		"not-an-arn":                                 "",
		"":                                           "",
	} {
		if got := accountID(arn); got != want {
			t.Errorf("accountID(%q) = %q, want %q", arn, got, want)
		}
	}
}
