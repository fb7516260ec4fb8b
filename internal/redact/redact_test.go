package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
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
