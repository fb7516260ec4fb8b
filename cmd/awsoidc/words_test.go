package main

import (
	"slices"
	"strings"
	"testing"
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
