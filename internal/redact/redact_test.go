package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

const value = "super-secret-token-value"

func TestSecretNeverPrints(t *testing.T) {
	s := New(value)
	type holder struct {
		Public string
		secret Secret
	}
	h := holder{Public: "ok", secret: s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	js, err := json.Marshal(struct{ S Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(js), s.String(), s.GoString())
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "token", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "token", s)
	outs = append(outs, buf.String())
	for _, o := range outs {
		if strings.Contains(o, value) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if s.Reveal() != value {
		t.Fatal("Reveal() lost the value")
	}
	if New("").String() != "" {
		t.Fatal("empty secret should print empty")
	}
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint(value)
	if !strings.HasPrefix(fp, "sha256:") || len(fp) != len("sha256:")+8 || strings.Contains(fp, value) {
		t.Fatalf("Fingerprint() = %q", fp)
	}
	if Fingerprint("") != "" {
		t.Fatal("Fingerprint(\"\") should be empty")
	}
}

func TestScrub(t *testing.T) {
	const rt = `rt/A+b=c"d\e<f>` // a refresh token with every kind of escaped byte
	for _, tc := range []struct {
		name, text string
		secrets    []string
		want       string
	}{
		{"plain", "invalid_grant: token " + rt + " is revoked", []string{rt}, "invalid_grant: token [REDACTED] is revoked"},
		{"query", "Post \"https://idp/token?x=" + url.QueryEscape(rt) + "\": EOF", []string{rt}, "Post \"https://idp/token?x=[REDACTED]\": EOF"},
		{"path", "GET /t/" + url.PathEscape(rt), []string{rt}, "GET /t/[REDACTED]"},
		{"json", `{"error_description":` + jsonString(rt) + `}`, []string{rt}, `{"error_description":"[REDACTED]"}`},
		{"%q", fmt.Sprintf("oauth2: %q", "bad "+rt), []string{rt}, `oauth2: "bad [REDACTED]"`},
		{"several, longest first", "a=secret-one b=secret-one-two", []string{"secret-one", "secret-one-two"}, "a=[REDACTED] b=[REDACTED]"},
		{"short values ignored", "the code abc failed", []string{"abc", ""}, "the code abc failed"},
		{"nothing to scrub", "server_error", []string{rt}, "server_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Scrub(tc.text, tc.secrets...); got != tc.want {
				t.Errorf("Scrub(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
