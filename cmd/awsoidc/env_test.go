package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/awsoidc/awsoidc/ststest"
)

// hostile are values that break naive quoting.
var hostile = []string{
	"",
	"plain",
	"it's",
	`"double"`,
	`back\slash\`,
	`\'`,
	"$HOME `id` $(id) ${x}",
	"new\nline",
	"tab\there",
	"'; rm -rf / #",
	"\u2018curly\u2019 \u201aquotes\u201b",
	"glob * ? [a]",
	"ünïcödé ✓",
	"trailing space ",
	"-n",
}

// TestShQuoteRoundTrip evaluates shQuote's output with the system's sh.
func TestShQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	for _, v := range hostile {
		var script bytes.Buffer
		if err := writeEnv(&script, "sh", []envVar{{"X", v}}); err != nil {
			t.Fatal(err)
		}
		script.WriteString(`printf '%s' "$X"`)
		out, err := exec.Command(sh, "-c", script.String()).Output()
		if err != nil {
			t.Fatalf("sh -c %q: %v", script.String(), err)
		}
		if string(out) != v {
			t.Errorf("sh read %q back as %q", v, out)
		}
	}
}

// unquoteFish and unquotePS parse a single-quoted string the way fish and
// PowerShell do (fish: \\ and \' are escapes; PowerShell: a doubled quote
// of any of the four kinds is one quote), for the shells this machine may
// not have. They report whether the whole input was one quoted string.
func unquoteFish(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '\''):
			b.WriteByte(s[i+1])
			i++
		case c == '\'':
			return b.String(), i == len(s)-1
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

func isPSQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b'
}

func unquotePS(s string) (string, bool) {
	next := func() (rune, string) {
		r, size := utf8.DecodeRuneInString(s)
		raw := s[:size]
		s = s[size:]
		return r, raw
	}
	if r, _ := next(); !isPSQuote(r) {
		return "", false
	}
	var b strings.Builder
	for s != "" {
		r, raw := next()
		if !isPSQuote(r) {
			b.WriteString(raw)
			continue
		}
		if r2, _ := utf8.DecodeRuneInString(s); s != "" && isPSQuote(r2) {
			_, raw2 := next()
			b.WriteString(raw2)
			continue
		}
		return b.String(), s == ""
	}
	return "", false
}

func TestFishAndPowerShellQuoting(t *testing.T) {
	for _, v := range hostile {
		if got, ok := unquoteFish(fishQuote(v)); !ok || got != v {
			t.Errorf("fish: %q quoted as %s reads back as %q (whole: %t)", v, fishQuote(v), got, ok)
		}
		if got, ok := unquotePS(psQuote(v)); !ok || got != v {
			t.Errorf("powershell: %q quoted as %s reads back as %q (whole: %t)", v, psQuote(v), got, ok)
		}
	}
	for _, sh := range []string{"fish", "pwsh"} {
		if _, err := exec.LookPath(sh); err == nil {
			t.Logf("%s is installed but only the reference parser is used", sh)
		}
	}
}

// TestEnvFormats runs env in every format and parses each output back.
func TestEnvFormats(t *testing.T) {
	f := newFixture(t)
	want := processJSON(t, f.mustRun(f.env(), f.args("credential-process")...).stdout)
	sessions := f.srv.Sessions()
	expiry := sessions[0].Expiration.UTC().Format(time.RFC3339)
	wantVars := map[string]string{
		"AWS_ACCESS_KEY_ID":         want.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     want.SecretAccessKey,
		"AWS_SESSION_TOKEN":         want.SessionToken,
		"AWS_CREDENTIAL_EXPIRATION": expiry,
		"AWS_ACCOUNT_ID":            ststest.DefaultAccountID,
	}
	check := func(format string, got map[string]string) {
		t.Helper()
		for k, v := range wantVars {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", format, k, got[k], v)
			}
		}
		if len(got) != len(wantVars) {
			t.Errorf("%s: %d variables, want %d: %v", format, len(got), len(wantVars), got)
		}
	}

	// json
	var m map[string]string
	if err := json.Unmarshal([]byte(f.mustRun(f.env(), f.args("env", "--format", "json")...).stdout), &m); err != nil {
		t.Fatal(err)
	}
	check("json", m)

	// sh, evaluated by sh; the default format.
	if sh, err := exec.LookPath("sh"); err == nil {
		out := f.mustRun(f.env(), f.args("env")...).stdout
		script := out + `for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION AWS_ACCOUNT_ID; do eval "printf '%s=%s\n' \$v \"\$$v\""; done; env | grep -c '^AWS_' >&2`
		cmd := exec.Command(sh, "-c", script)
		cmd.Env = []string{}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("sh: %v\n%s", err, stderr.String())
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			got[k] = v
		}
		check("sh", got)
		if strings.TrimSpace(stderr.String()) != "5" {
			t.Errorf("sh: %s variables exported, want 5", strings.TrimSpace(stderr.String()))
		}
	}

	// fish and powershell, with the reference parsers.
	for _, tc := range []struct {
		format, prefix, sep, suffix string
		unquote                     func(string) (string, bool)
	}{
		{"fish", "set -gx ", " ", ";", unquoteFish},
		{"powershell", "$Env:", " = ", "", unquotePS},
	} {
		out := f.mustRun(f.env(), f.args("env", "--format", tc.format)...).stdout
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			rest, ok := strings.CutPrefix(line, tc.prefix)
			if !ok {
				t.Fatalf("%s: line %q does not start with %q", tc.format, line, tc.prefix)
			}
			name, quoted, _ := strings.Cut(strings.TrimSuffix(rest, tc.suffix), tc.sep)
			v, ok := tc.unquote(quoted)
			if !ok {
				t.Fatalf("%s: value of %s is not one quoted string: %s", tc.format, name, quoted)
			}
			got[name] = v
		}
		check(tc.format, got)
	}
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1 (env shares the store)", n)
	}
}
