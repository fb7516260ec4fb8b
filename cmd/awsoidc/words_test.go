package main

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"buildkite-agent oidc request-token --audience sts.amazonaws.com", []string{"buildkite-agent", "oidc", "request-token", "--audience", "sts.amazonaws.com"}},
		{`circleci run oidc get --claims '{"aud":"sts.amazonaws.com"}'`, []string{"circleci", "run", "oidc", "get", "--claims", `{"aud":"sts.amazonaws.com"}`}},
		{`  vault   read -field=token identity/oidc/token/ci  `, []string{"vault", "read", "-field=token", "identity/oidc/token/ci"}},
		{`a "b c" 'd e' f\ g`, []string{"a", "b c", "d e", "f g"}},
		{`a "x\"y\\z\$w\n" ''`, []string{"a", `x"y\z$w\n`, ""}},
		{`a 'it''s' "$HOME" '$(rm -rf /)' "a|b;c"`, []string{"a", "its", "$HOME", "$(rm -rf /)", "a|b;c"}},
		{"/path/with spaces\\ ok/cmd", []string{"/path/with", "spaces ok/cmd"}},
		{`get-token *.jwt`, []string{"get-token", "*.jwt"}},
		// The recipes of docs/cli.md.
		{`circleci run oidc get --claims "{\"aud\":\"sts.amazonaws.com\"}"`, []string{"circleci", "run", "oidc", "get", "--claims", `{"aud":"sts.amazonaws.com"}`}},
		{`kubectl create token my-service-account --audience sts.amazonaws.com`, []string{"kubectl", "create", "token", "my-service-account", "--audience", "sts.amazonaws.com"}},
	}
	for _, tt := range tests {
		got, err := splitCommand(tt.line)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
}

func TestSplitCommandErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"", "must name a command"},
		{"   ", "must name a command"},
		{"get 'token", "single quote is not closed"},
		{`get "token`, "double quote is not closed"},
		{`get token\`, "ends with a backslash"},
		{"get $TOKEN", "`$` needs a shell"},
		{"get | jq -r .token", "`|` needs a shell"},
		{"get > /tmp/x", "`>` needs a shell"},
		{"get; rm x", "`;` needs a shell"},
		{"get `x`", "needs a shell"},
		{"get && x", "`&` needs a shell"},
	}
	for _, tt := range tests {
		_, err := splitCommand(tt.line)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("splitCommand(%q): got %v, want %q", tt.line, err, tt.want)
		}
	}
}

// FuzzSplitCommand: any line splits or is refused without a panic, and
// words quoted as sh quotes them ('...' with '\” for a quote) split back
// into themselves.
func FuzzSplitCommand(f *testing.F) {
	f.Add("get-token", "--audience", `{"aud":"sts"}`)
	f.Add("a b", "it's", "")
	f.Add("$HOME", "|", `\`)
	f.Fuzz(func(t *testing.T, a, b, c string) {
		_, _ = splitCommand(a + " " + b + " " + c)
		words := []string{a, b, c}
		quoted := make([]string, len(words))
		for i, w := range words {
			if !utf8.ValidString(w) {
				return
			}
			quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		got, err := splitCommand(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(got, words) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", strings.Join(quoted, " "), got, err, words)
		}
	})
}
